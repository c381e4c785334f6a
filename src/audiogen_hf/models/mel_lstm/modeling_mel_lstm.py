"""MelLSTMModel: an LSTM that continues music by predicting the next mel-spectrogram frame.

Origin: the "Jam Assistant" system, an LSTM trained on MUSDB18 mixtures to predict each next mel frame from the
previous ones (MSE, optionally plus spectral-feature losses on linear-scale mels back-propagated with
``--spectral_backward``), whose generated mels become audio through Griffin-Lim. Here it is a transformers
``PreTrainedModel`` that predicts the change from the current frame (a residual), generates frame by frame from a
prompt, and is wrapped with its spectrogram converter by ``MelContinuationPipeline``.

Shapes (``B`` batch, ``T`` frames, ``M`` = ``n_mels``): ``input_mels`` / ``labels`` / ``predictions``
``[B, T, M]`` (frame-major, the LSTM's ``batch_first`` layout; the converter's spectrograms are ``[B, M, T]``);
``state``: the LSTM's ``(h, c)``, each ``[num_layers, B, hidden_size]``.
"""

import math
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from diffusers.utils.torch_utils import randn_tensor
from torch import nn
from torch.func import functional_call
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from ...audio.features import mel_frequencies, spectral_features
from ...audio.spectrogram import denormalize_range, from_db
from ..modeling_utils import AutoMapMixin
from .configuration_mel_lstm import SPECTRAL_FEATURES, MelLSTMConfig


@dataclass
class MelLSTMOutput(ModelOutput):
    """
    Args:
        loss (`torch.FloatTensor`, *optional*): MSE of the predicted next frames (plus the weighted spectral losses),
            when ``labels`` are given.
        predictions (`torch.FloatTensor` of shape `[batch, frames, n_mels]`): frame ``t`` predicts input frame
            ``t + 1``.
        spectral_losses (`dict`, *optional*): each weighted feature's mean absolute difference (unweighted), when
            computed.
        state (`tuple(torch.FloatTensor)`): the LSTM ``(h, c)`` after the last frame, to continue from.
        scales (`torch.FloatTensor` of shape `[batch, frames, n_mels]`, *optional*): predicted standard deviation
            of each band of the next frame (``output_distribution="gaussian"``; ``predictions`` is then the mean).
    """

    loss: Optional[torch.FloatTensor] = None
    predictions: Optional[torch.FloatTensor] = None
    spectral_losses: Optional[dict] = None
    state: Optional[tuple] = None
    scales: Optional[torch.FloatTensor] = None


class MelLSTMPreTrainedModel(AutoMapMixin, PreTrainedModel):
    config_class = MelLSTMConfig
    base_model_prefix = "mel_lstm"
    main_input_name = "input_mels"

    @torch.no_grad()
    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
            init.zeros_(module.bias)
        elif isinstance(module, nn.LSTM):
            for name, param in module.named_parameters():
                if "weight_ih" in name:
                    init.xavier_uniform_(param)
                elif "weight_hh" in name:
                    init.orthogonal_(param)
                else:
                    init.zeros_(param)


class MelLSTMModel(MelLSTMPreTrainedModel):
    """The Jam Assistant's next-frame LSTM: ``input_mels`` ``[batch, frames, n_mels]`` -> the next frame after each
    input frame, predicted as the current frame plus a learned change (``LSTM -> Dropout -> Linear``).

    Args:
        config ([`MelLSTMConfig`]): sizes, the mel scale of the frames and the spectral-loss weights.

    Example:

    ```python
    >>> import torch
    >>> from audiogen_hf.models import MelLSTMConfig, MelLSTMModel

    >>> model = MelLSTMModel(MelLSTMConfig(n_mels=16, hidden_size=32, num_layers=1))
    >>> mels = torch.rand(2, 40, 16)  # normalised log-mels, frame-major
    >>> out = model(mels[:, :-1], labels=mels[:, 1:])
    >>> out.predictions.shape, out.loss.shape
    (torch.Size([2, 39, 16]), torch.Size([]))
    >>> model.generate(mels[:, :20], num_frames=8).shape  # only the new frames
    torch.Size([2, 8, 16])

    ```
    """

    def __init__(self, config: MelLSTMConfig):
        super().__init__(config)
        marks = 1 if config.mark_generated_frames else 0  # one more input: "this frame is the model's own"
        self.lstm = nn.LSTM(config.n_mels + marks, config.hidden_size, config.num_layers, batch_first=True,
                            dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.n_mels)
        if config.output_distribution == "gaussian":
            # with the adapter drawn apart, so under one seed the LSTM and head start exactly as the seed model's
            with torch.random.fork_rng(devices=[]) if config.generation_adapter else nullcontext():
                self.scale_head = nn.Linear(config.hidden_size, config.n_mels)
        if config.generation_adapter:  # weight offsets for the model's own frames, zero at the start
            self.generation_offsets = nn.ParameterDict({
                self._offset_name(module, name): nn.Parameter(torch.zeros_like(weight))
                for module in self._ADAPTED if hasattr(self, module)
                for name, weight in getattr(self, module).named_parameters()})
        self._band_frequencies = None  # Hz of each mel band, built on first use (not a weight)
        self.post_init()

    _ADAPTED = ("lstm", "head", "scale_head")  # the modules ``generation_adapter`` offsets

    @staticmethod
    def _offset_name(module: str, name: str) -> str:
        return f"{module}_{name}".replace(".", "_")

    def _run(self, module: str, own: bool, *args):
        """Call ``module`` with its weights, or for the model's own frames (``generation_adapter``) with the
        detached weights plus their offsets."""
        if not own:
            return getattr(self, module)(*args)
        weights = {name: weight.detach() + self.generation_offsets[self._offset_name(module, name)]
                   for name, weight in getattr(self, module).named_parameters()}
        return functional_call(getattr(self, module), weights, args)

    def _check(self, mels: torch.Tensor, name: str) -> None:
        if mels.dim() != 3 or mels.shape[-1] != self.config.n_mels:
            raise ValueError(f"{name} must be [batch, frames, n_mels={self.config.n_mels}], got {tuple(mels.shape)}")
        if not torch.isfinite(mels).all():
            raise ValueError(f"{name} contains NaN or infinite values")

    def forward(
        self,
        input_mels: torch.Tensor,
        labels: Optional[torch.Tensor] = None,
        state: Optional[tuple] = None,
        generated_frames: bool = False,
        return_dict: Optional[bool] = None,
    ):
        """Predict the frame after each input frame.

        Args:
            input_mels (`torch.Tensor` of shape `[batch, frames, n_mels]`): mel frames in the config's scale.
            labels (`torch.Tensor` of shape `[batch, frames, n_mels]`, *optional*): the frames that follow each input
                frame (``input_mels = mels[:, :-1]``, ``labels = mels[:, 1:]``); with them the loss is computed.
            state (`tuple`, *optional*): the LSTM ``(h, c)`` to continue from (``MelLSTMOutput.state``).
            generated_frames (`bool`, defaults to `False`): whether ``input_mels`` are the model's own frames fed back
                (read by models with ``config.mark_generated_frames`` or ``config.generation_adapter``).
            return_dict (`bool`, *optional*, defaults to `config.return_dict`): a `ModelOutput` or a tuple.

        Returns:
            [`MelLSTMOutput`] or a tuple of its non-``None`` fields.
        """
        self._check(input_mels, "input_mels")
        lstm_input = input_mels
        if self.config.mark_generated_frames:
            mark = torch.full_like(input_mels[..., :1], float(generated_frames))
            lstm_input = torch.cat([input_mels, mark], dim=-1)
        own = generated_frames and self.config.generation_adapter
        hidden, state = self._run("lstm", own, lstm_input, state)
        hidden = self.dropout(hidden)
        # Residual: the network predicts the change from the current frame, the strong baseline for music.
        predictions = input_mels + self._run("head", own, hidden)
        scales = None
        if self.config.output_distribution == "gaussian":
            # with the adapter only the next-frame MSE trains the LSTM on real frames
            features = hidden.detach() if self.config.generation_adapter and not own else hidden
            scales = F.softplus(self._run("scale_head", own, features)) + self.config.min_std
        loss, spectral = None, None
        if labels is not None:
            self._check(labels, "labels")
            loss, spectral = self.compute_loss(predictions, labels, scales)
        output = MelLSTMOutput(loss=loss, predictions=predictions, spectral_losses=spectral, state=state,
                               scales=scales)
        return output if (return_dict if return_dict is not None else self.config.return_dict) else output.to_tuple()

    def compute_loss(self, predictions: torch.Tensor, labels: torch.Tensor,
                     scales: Optional[torch.Tensor] = None) -> tuple:
        """``(loss, spectral_losses or None)`` of predicted next frames (and ``scales`` for the Gaussian head):
        MSE, plus ``nll_weight`` x the Gaussian negative log-likelihood per band (constant dropped), plus the
        weighted spectral losses."""
        if labels.shape != predictions.shape:
            raise ValueError(f"labels {tuple(labels.shape)} must match the predictions {tuple(predictions.shape)}")
        loss, spectral = F.mse_loss(predictions, labels), None
        if scales is not None and self.config.nll_weight > 0:
            mean = predictions if self.config.nll_trains_mean else predictions.detach()
            nll = torch.log(scales) + 0.5 * ((labels - mean) / scales) ** 2
            loss = loss + self.config.nll_weight * nll.mean()
        if self.config.spectral_loss_weights:
            spectral = self.spectral_losses(predictions, labels)
            loss = loss + sum(self.config.spectral_loss_weights[k] * v for k, v in spectral.items())
        return loss, spectral

    def sample_frames(self, output: MelLSTMOutput, temperature: float = 0.0,
                      generator: Optional[torch.Generator] = None,
                      noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Draw next frames from ``output``: the mean plus ``temperature`` x the predicted std x ``noise`` (default:
        N(0, 1) drawn from ``generator``) for the Gaussian head; the prediction itself at temperature 0 or for the
        point head."""
        frames = output.predictions
        if output.scales is not None and temperature > 0:
            if noise is None:
                noise = randn_tensor(frames.shape, generator=generator, device=frames.device, dtype=frames.dtype)
            frames = frames + temperature * output.scales * noise
        return frames

    def to_linear(self, mels: torch.Tensor) -> torch.Tensor:
        """Model frames -> linear mel power (undoes the normalised dB scale when ``target_log``)."""
        if not self.config.target_log:
            return mels.clamp_min(0)
        return from_db(denormalize_range(mels, *self.config.db_range), power=True)

    def spectral_errors(self, predictions: torch.Tensor, labels: torch.Tensor,
                        names: tuple = SPECTRAL_FEATURES) -> dict:
        """Per example ``[batch]``: mean absolute difference of each spectral feature on linear-scale mels
        (centroid and bandwidth in units of the Nyquist frequency); differentiable."""
        if self._band_frequencies is None:
            c = self.config
            self._band_frequencies = mel_frequencies(c.sampling_rate, c.n_mels, c.f_min, c.f_max)
        bands = self._band_frequencies.to(predictions.device)
        pred = spectral_features(self.to_linear(predictions).transpose(-1, -2), frequencies=bands)
        true = spectral_features(self.to_linear(labels).transpose(-1, -2), frequencies=bands)
        nyquist = self.config.sampling_rate / 2
        scale = {"centroid": nyquist, "bandwidth": nyquist, "flatness": 1.0, "entropy": 1.0}
        return {name: (pred[name] - true[name]).abs().mean(dim=-1) / scale[name] for name in names}

    def spectral_losses(self, predictions: torch.Tensor, labels: torch.Tensor) -> dict:
        """Batch means of ``spectral_errors`` for the weighted features (the seed's ``--spectral_backward``)."""
        errors = self.spectral_errors(predictions, labels, tuple(self.config.spectral_loss_weights))
        return {name: value.mean() for name, value in errors.items()}

    @torch.no_grad()
    def generate(
        self,
        prompt_mels: torch.Tensor,
        num_frames: int,
        noise_scale: float = 0.0,
        generator: Optional[torch.Generator] = None,
        temperature: Optional[float] = None,
        level_control: Optional[float] = None,
    ) -> torch.Tensor:
        """Continue ``prompt_mels`` ``[batch, frames, n_mels]`` by ``num_frames`` frames, each predicted from the
        previous ones; returns only the new frames ``[batch, num_frames, n_mels]``.

        ``temperature`` (default ``config.sampling_temperature``): with the Gaussian head each frame is sampled from
        the predicted distribution with its std scaled by ``temperature`` (noise from ``generator``); 0 is the
        deterministic mean rollout. ``level_control`` (default ``config.level_control``): see ``MelLSTMConfig``.
        ``noise_scale`` > 0 adds Gaussian noise of that std (drawn from ``generator`` with diffusers' ``randn_tensor``,
        so a CPU generator works with a model on any device) to each predicted frame before it is fed back, for varied
        continuations; at 0 generation is deterministic. ``MelContinuationPipeline`` runs the same two steps
        (``start_generation``, then ``generation_step`` per frame) under its progress bar.
        """
        if not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f"num_frames must be an integer >= 1, got {num_frames!r}")
        was_training = self.training
        self.eval()
        frame, state = self.start_generation(prompt_mels, noise_scale, generator, temperature, level_control)
        frames = []
        for index in range(num_frames):
            frames.append(frame)
            if index < num_frames - 1:
                frame, state = self.generation_step(frame, state, noise_scale, generator)
        self.train(was_training)
        return torch.cat(frames, dim=1)

    @torch.no_grad()
    def start_generation(self, prompt_mels: torch.Tensor, noise_scale: float = 0.0,
                         generator: Optional[torch.Generator] = None, temperature: Optional[float] = None,
                         level_control: Optional[float] = None) -> tuple[torch.Tensor, dict]:
        """Read the prompt ``[batch, frames, n_mels]`` (cast to the model's dtype): ``(first new frame [batch, 1,
        n_mels], generation state)``; the state holds the LSTM ``(h, c)`` (``"lstm"``), the sampling settings and
        the level control's running sums. Call in eval mode."""
        temperature = self.config.sampling_temperature if temperature is None else temperature
        level_control = self.config.level_control if level_control is None else level_control
        if noise_scale < 0:
            raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if not 0 <= level_control <= 1:
            raise ValueError(f"level_control must be in [0, 1], got {level_control}")
        prompt_mels = prompt_mels.to(self.dtype)
        output = self(prompt_mels, return_dict=True)
        axes = (1, 2) if self.config.level_control_mode == "overall" else (1,)
        level = prompt_mels.mean(dim=axes, keepdim=True)  # [batch, 1, 1] overall, [batch, 1, n_mels] per band
        state = {"lstm": output.state, "temperature": temperature, "level_control": level_control,
                 "level_axes": axes, "prompt_level": level, "level_sum": torch.zeros_like(level), "count": 0,
                 "level": level, "gap_sum": torch.zeros_like(level), "noise": None}
        last = MelLSTMOutput(predictions=output.predictions[:, -1:],
                             scales=None if output.scales is None else output.scales[:, -1:])
        return self._next_frame(last, state, noise_scale, generator), state

    @torch.no_grad()
    def generation_step(self, frame: torch.Tensor, state: dict, noise_scale: float = 0.0,
                        generator: Optional[torch.Generator] = None) -> tuple[torch.Tensor, dict]:
        """Feed back ``frame`` ``[batch, 1, n_mels]``: ``(the frame after it, new state)``."""
        output = self(frame, state=state["lstm"], generated_frames=True, return_dict=True)
        state = {**state, "lstm": output.state}
        return self._next_frame(output, state, noise_scale, generator), state

    def _next_frame(self, output: MelLSTMOutput, state: dict, noise_scale: float,
                    generator: Optional[torch.Generator]) -> torch.Tensor:
        """Sample the next frame (updates ``state``'s sampling noise and running level in place)."""
        c, noise, rho = self.config, None, self.config.sampling_noise_correlation
        if output.scales is not None and state["temperature"] > 0:
            frames = output.predictions
            noise = randn_tensor(frames.shape, generator=generator, device=frames.device, dtype=frames.dtype)
            if state["noise"] is not None and rho > 0:  # AR(1): unit variance, correlation rho with the last noise
                noise = rho * state["noise"] + math.sqrt(1 - rho ** 2) * noise
            state["noise"] = noise
        predictions = self.sample_frames(output, state["temperature"], generator, noise)
        if noise_scale > 0:  # the seed's option: white noise on top, whatever the sampling noise
            extra = randn_tensor(predictions.shape, generator=generator, device=predictions.device,
                                 dtype=predictions.dtype)
            predictions = predictions + noise_scale * extra
        state["count"] += 1
        level_of = lambda frames: frames.mean(dim=state["level_axes"], keepdim=True)  # noqa: E731
        if state["level_control"] > 0:  # pull the running level of the continuation back to the prompt's
            if c.level_control_frames > 0:  # exponential moving average, from the prompt's level
                running = state["level"] + (level_of(predictions) - state["level"]) / c.level_control_frames
            else:  # the mean of the generated frames so far
                running = (state["level_sum"] + level_of(predictions)) / state["count"]
            gap = state["prompt_level"] - running
            if c.level_control_frames > 0:  # and the gap's sum over about level_control_frames (integral action)
                state["gap_sum"] = state["gap_sum"] + gap / c.level_control_frames
                gap = gap + state["gap_sum"]
            predictions = predictions + state["level_control"] * gap
        frame = self.clamp_frames(predictions)
        state["level_sum"] = state["level_sum"] + level_of(frame)
        if c.level_control_frames > 0:
            state["level"] = state["level"] + (level_of(frame) - state["level"]) / c.level_control_frames
        return frame

    def clamp_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Keep generated frames in the training range, so errors do not run away as they feed back."""
        return frames.clamp(0, 1) if self.config.target_log else frames.clamp_min(0)
