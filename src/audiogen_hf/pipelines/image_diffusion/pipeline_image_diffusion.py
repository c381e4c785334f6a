"""Sample images from a (class-conditional) DDPM U-Net, with classifier-free guidance.

For an unconditional U-Net this is diffusers' ``DDPMPipeline``; it adds class labels (ids or names stored in the
pipeline's config) and guidance: ``eps = eps_null + guidance_scale * (eps_class - eps_null)``, the null label being
the U-Net's extra "no class" embedding (``SimpleUNetModel``: ``num_class_embeds``; a diffusers ``UNet2DModel`` trained
here: its last embedding, ``num_class_embeds - 1``).
"""

import inspect
from typing import Optional, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor


def null_class_label(unet) -> Optional[int]:
    """The "no class" label of a class-conditional U-Net (None for an unconditional one)."""
    if getattr(unet, "null_class_label", None) is not None:
        return unet.null_class_label
    count = getattr(unet.config, "num_class_embeds", None)
    return count - 1 if count else None


def guided_noise_prediction(unet, sample: torch.Tensor, timestep, class_labels: Optional[torch.Tensor],
                            guidance_scale: float) -> torch.Tensor:
    """The U-Net's output for ``class_labels``, guided away from the null label when ``guidance_scale != 1``
    (one batched call for both)."""
    null = null_class_label(unet)
    if class_labels is None or null is None:
        return unet(sample, timestep, class_labels=None if null is None else
                    torch.full((len(sample),), null, device=sample.device)).sample
    if guidance_scale == 1.0:
        return unet(sample, timestep, class_labels=class_labels).sample
    both = unet(torch.cat([sample, sample]), timestep,
                class_labels=torch.cat([class_labels, torch.full_like(class_labels, null)])).sample
    conditional, unconditional = both.chunk(2)
    return unconditional + guidance_scale * (conditional - unconditional)


class ImageDiffusionPipeline(DiffusionPipeline):
    """Components: ``unet`` (``SimpleUNetModel`` or diffusers ``UNet2DModel``), ``scheduler`` (any diffusers
    scheduler: ``DDPMScheduler`` as trained, ``DDIMScheduler.from_config(...)`` for fewer steps).

    Args:
        unet: predicts the noise; class-conditional if it has a class embedding.
        scheduler: the noise schedule.
        class_names (`list[str]`, *optional*): names of the class ids, stored in ``model_index.json``.

    Example:

    ```python
    >>> from diffusers import DDIMScheduler
    >>> from audiogen_hf.models import SimpleUNetModel
    >>> from audiogen_hf.pipelines import ImageDiffusionPipeline
    >>> unet = SimpleUNetModel(block_out_channels=(8, 16), num_class_embeds=3, norm_num_groups=4)
    >>> pipe = ImageDiffusionPipeline(unet, DDIMScheduler(num_train_timesteps=100),
    ...                               class_names=["shirt", "shoe", "bag"])
    >>> pipe.set_progress_bar_config(disable=True)
    >>> out = pipe(num_samples=2, class_labels="shoe", guidance_scale=3.0, num_inference_steps=5, output_type="np")
    >>> out.images.shape
    (2, 28, 28, 1)
    ```

    A trained one: ``ImageDiffusionPipeline.from_pretrained("outputs/ddpm_fashion_mnist/pipeline")``, with
    ``pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)`` for 50-step sampling.
    """

    model_cpu_offload_seq = "unet"

    def __init__(self, unet, scheduler, class_names: Optional[list] = None):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler)
        self.register_to_config(class_names=list(class_names) if class_names is not None else None)

    def class_ids(self, class_labels, num_samples: int) -> Optional[torch.Tensor]:
        """Names or ids (one, or one per sample) -> ``[num_samples]`` ids; None stays None."""
        if class_labels is None:
            return None
        null = null_class_label(self.unet)
        if null is None:
            raise ValueError("class_labels given, but the U-Net is unconditional (no class embedding)")
        labels = [class_labels] * num_samples if isinstance(class_labels, (int, str)) else list(class_labels)
        if len(labels) != num_samples:
            raise ValueError(f"got {len(labels)} class labels for num_samples={num_samples}")
        names = self.config.class_names or []
        ids = []
        for label in labels:
            if isinstance(label, str):
                if label not in names:
                    raise ValueError(f"unknown class {label!r}; known classes: {names}")
                label = names.index(label)
            if not 0 <= int(label) < null:
                raise ValueError(f"class label {label} outside [0, {null - 1}]")
            ids.append(int(label))
        return torch.tensor(ids, device=self._execution_device)

    @torch.no_grad()
    def __call__(self, num_samples: int = 1, class_labels: Optional[Union[int, str, list]] = None,
                 guidance_scale: float = 1.0, num_inference_steps: int = 1000,
                 generator: Optional[torch.Generator] = None, eta: Optional[float] = None, output_type: str = "pil",
                 return_dict: bool = True):
        """``num_samples`` images; ``class_labels`` (ids or names, one or per sample; None: unconditional, through
        the null label); ``guidance_scale`` > 1 pushes samples towards their class. ``eta`` (DDIM-type schedulers,
        as in diffusers' ``DDIMPipeline``): 0 deterministic, 1 as stochastic as DDPM; None: the scheduler's default.
        ``output_type``: ``"pil"``, ``"np"`` (``[N, H, W, C]`` in [0, 1]) or ``"pt"`` (``[N, C, H, W]`` in [0, 1]).

        Returns:
            ``ImagePipelineOutput`` with ``images`` (a list of PIL images, or an array / tensor as above); a tuple
            ``(images,)`` when ``return_dict=False``.
        """
        if output_type not in ("pil", "np", "pt"):
            raise ValueError(f"output_type must be 'pil', 'np' or 'pt', got {output_type!r}")
        if guidance_scale < 1.0:
            raise ValueError(f"guidance_scale must be >= 1 (1: no guidance), got {guidance_scale}")
        step_options = {}
        if eta is not None:
            if "eta" not in inspect.signature(self.scheduler.step).parameters:
                raise ValueError(f"eta is an option of DDIM-type schedulers; {type(self.scheduler).__name__} has none")
            if not 0.0 <= eta <= 1.0:
                raise ValueError(f"eta must be in [0, 1] (0: deterministic, 1: as stochastic as DDPM), got {eta}")
            step_options["eta"] = eta
        labels = self.class_ids(class_labels, num_samples)
        size = self.unet.config.sample_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        shape = (num_samples, self.unet.config.in_channels, *size)
        image = randn_tensor(shape, generator=generator, device=self._execution_device, dtype=self.unet.dtype)
        self.scheduler.set_timesteps(num_inference_steps, device=self._execution_device)
        for t in self.progress_bar(self.scheduler.timesteps):
            noise = guided_noise_prediction(self.unet, image, t, labels, guidance_scale)
            image = self.scheduler.step(noise, t, image, generator=generator, **step_options).prev_sample
        image = (image.float() / 2 + 0.5).clamp(0, 1)
        if output_type == "pt":
            images = image
        else:
            images = image.cpu().permute(0, 2, 3, 1).numpy()
            if output_type == "pil":
                images = self.numpy_to_pil(images)
        if not return_dict:
            return (images,)
        return ImagePipelineOutput(images=images)


def image_grid(images: Union[np.ndarray, torch.Tensor], rows: Optional[int] = None, pad: int = 2):
    """``[N, C, H, W]`` (torch) or ``[N, H, W, C]`` (numpy) images in [0, 1] -> one PIL grid image."""
    from PIL import Image

    array = images.permute(0, 2, 3, 1).cpu().numpy() if torch.is_tensor(images) else np.asarray(images)
    count, height, width, channels = array.shape
    rows = rows or int(np.ceil(np.sqrt(count)))
    cols = int(np.ceil(count / rows))
    grid = np.ones((rows * (height + pad) + pad, cols * (width + pad) + pad, channels), dtype=np.float32)
    for index in range(count):
        r, c = divmod(index, cols)
        grid[pad + r * (height + pad): pad + r * (height + pad) + height,
             pad + c * (width + pad): pad + c * (width + pad) + width] = array[index]
    grid = (grid * 255).round().astype(np.uint8)
    return Image.fromarray(grid[..., 0] if channels == 1 else grid)
