"""Configuration of the Jam Assistant's mel-continuation LSTM."""

from typing import Optional

from transformers import PretrainedConfig

from ..configuration_utils import check_fields

SPECTRAL_FEATURES = ("centroid", "bandwidth", "flatness", "entropy")
OUTPUT_DISTRIBUTIONS = ("none", "gaussian")
LEVEL_CONTROL_MODES = ("overall", "band")


class MelLSTMConfig(PretrainedConfig):
    """
    Args:
        n_mels: mel bands per frame (the seed used 128).
        hidden_size, num_layers, dropout: the LSTM stack; dropout also before the output projection.
        target_log: frames are normalised log-mels, ``(dB - db_range[0]) / (db_range[1] - db_range[0])`` (a
            ``SpectrogramConverter`` with ``scale="db"``, ``normalization="fixed"``, ``norm_range=db_range``);
            ``False``: frames are linear mel power.
        db_range: the dB range mapped to [0, 1] when ``target_log``.
        sampling_rate, f_min, f_max: the mel scale, to place each band in Hz for the spectral losses.
        spectral_loss_weights: weight of each of ``centroid``, ``bandwidth``, ``flatness``, ``entropy`` differences
            (computed on linear-scale mels and back-propagated; the seed's ``--spectral_backward``). Centroid and
            bandwidth are measured in units of the Nyquist frequency.
        initializer_range: std of the output projection's initial weights.
        output_distribution: ``"none"`` (the seed): one predicted frame, trained with MSE. ``"gaussian"``: a
            diagonal Gaussian per frame (mean, as before, and a per-band standard deviation from a second head),
            trained with MSE of the mean plus ``nll_weight`` x its negative log-likelihood, and sampled at
            ``temperature`` (std x temperature) when generating, so the rollout keeps the music's variation instead
            of regressing to the mean.
        nll_weight: weight of the Gaussian negative log-likelihood (``output_distribution="gaussian"``).
        nll_trains_mean: whether the NLL's gradient also reaches the mean (it weighs each band's error by 1 / std^2);
            ``False``: the mean is fit by MSE alone, the std by the NLL (measured no better, README).
        min_std: floor of the predicted standard deviation, in model units (normalised log-mel).
        sampling_temperature: the default sampling temperature of ``generate`` (0: the deterministic mean rollout).
        level_control: in ``generate``, the fraction per frame by which the running mean of the generated frames
            is pulled back to the prompt's mean level: 0 (the seed) leaves the level free to drift.
        level_control_mode: ``"overall"``: one level, the mean over all bands; ``"band"``: each band's own level, so
            the continuation also keeps the prompt's spectral envelope (its timbre) instead of drifting to the
            training set's.
        level_control_frames: the running level the pull compares with the prompt's: 0, the mean of all generated
            frames so far (the first frames, averaged over few, are pulled hard to the prompt's mean level); > 0, an
            exponential moving average over about that many frames, starting at the prompt's level, so the first
            frames are free and later drift is pulled back as promptly as early drift; the pull then adds the sum
            of the gaps so far / ``level_control_frames`` (integral action), so the model's steady pull towards the
            training set's level is cancelled instead of leaving a constant gap.
        sampling_noise_correlation: correlation of each band's sampling noise with the previous frame's (a
            unit-variance AR(1) process): 0 draws it afresh each frame (white noise: frame-to-frame flicker over a
            still picture); towards 1 the sampled variation moves at the slower rates of notes and phrases.
        mark_generated_frames: the LSTM also reads, with each input frame, whether it is the model's own output fed
            back (1: in generation and in training rollouts) or a real frame (0), so it can rely on real frames and
            correct its own (as world models are told the noise level of their context frames). False: the seed's
            input, the frame alone.
        generation_adapter: the model's own frames (fed back in generation and in training rollouts) run through
            the same LSTM and heads with learned weight offsets added (zero at the start) to the detached weights, so
            the losses on its own frames train only the offsets and the losses on real frames only the weights; the
            std head reads detached features on real frames. With ``nll_trains_mean=False`` the LSTM and its
            next-frame head train exactly as the seed's MSE model does, while the rollouts still adapt the whole
            network to its own frames. Not with ``mark_generated_frames`` (its input would never be trained).

    Example:

    ```python
    >>> from audiogen_hf.models import MelLSTMConfig

    >>> config = MelLSTMConfig(n_mels=64, spectral_loss_weights={"centroid": 0.1})
    >>> config.sampling_rate
    22050
    >>> MelLSTMConfig(n_mels=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: MelLSTMConfig: invalid ...

    ```
    """

    model_type = "mel_lstm"

    def __init__(
        self,
        n_mels: int = 128,
        hidden_size: int = 512,
        num_layers: int = 2,
        dropout: float = 0.1,
        target_log: bool = True,
        db_range: tuple = (-80.0, 40.0),
        sampling_rate: int = 22050,
        f_min: float = 0.0,
        f_max: Optional[float] = None,
        spectral_loss_weights: Optional[dict] = None,
        initializer_range: float = 0.02,
        output_distribution: str = "none",
        nll_weight: float = 0.01,
        nll_trains_mean: bool = True,
        min_std: float = 1e-3,
        sampling_temperature: float = 0.5,
        level_control: float = 0.0,
        level_control_mode: str = "overall",
        level_control_frames: int = 0,
        sampling_noise_correlation: float = 0.0,
        mark_generated_frames: bool = False,
        generation_adapter: bool = False,
        **kwargs,
    ):
        sampling_rate = kwargs.pop("sample_rate", sampling_rate)  # configs saved before the rename
        weights = dict(spectral_loss_weights or {})
        checks = [
            (isinstance(n_mels, int) and n_mels > 0, "n_mels", n_mels, "an integer > 0"),
            (isinstance(hidden_size, int) and hidden_size > 0, "hidden_size", hidden_size, "an integer > 0"),
            (isinstance(num_layers, int) and num_layers > 0, "num_layers", num_layers, "an integer > 0"),
            (0.0 <= dropout < 1.0, "dropout", dropout, "in [0, 1)"),
            (len(db_range) == 2 and db_range[0] < db_range[1], "db_range", db_range, "(low, high) with low < high"),
            (sampling_rate > 0, "sampling_rate", sampling_rate, "> 0"),
            (0 <= f_min < (f_max or sampling_rate / 2) <= sampling_rate / 2, "f_min/f_max", (f_min, f_max),
             "0 <= f_min < f_max <= sampling_rate / 2"),
            (set(weights) <= set(SPECTRAL_FEATURES) and all(w >= 0 for w in weights.values()),
             "spectral_loss_weights", weights, f"non-negative weights for some of {SPECTRAL_FEATURES}"),
            (output_distribution in OUTPUT_DISTRIBUTIONS, "output_distribution", output_distribution,
             f"one of {OUTPUT_DISTRIBUTIONS}"),
            (nll_weight >= 0, "nll_weight", nll_weight, ">= 0"),
            (min_std > 0, "min_std", min_std, "> 0"),
            (sampling_temperature >= 0, "sampling_temperature", sampling_temperature, ">= 0"),
            (0 <= level_control <= 1, "level_control", level_control, "in [0, 1]"),
            (level_control_mode in LEVEL_CONTROL_MODES, "level_control_mode", level_control_mode,
             f"one of {LEVEL_CONTROL_MODES}"),
            (isinstance(level_control_frames, int) and level_control_frames >= 0, "level_control_frames",
             level_control_frames, "an integer >= 0"),
            (0 <= sampling_noise_correlation < 1, "sampling_noise_correlation", sampling_noise_correlation,
             "in [0, 1)"),
            (not (generation_adapter and mark_generated_frames), "generation_adapter", generation_adapter,
             "False with mark_generated_frames (with the adapter the LSTM's weights never learn from own frames)"),
        ]
        check_fields("MelLSTMConfig", checks)
        self.n_mels = n_mels
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.target_log = target_log
        self.db_range = list(db_range)
        self.sampling_rate = sampling_rate
        self.f_min = f_min
        self.f_max = f_max
        self.spectral_loss_weights = weights
        self.initializer_range = initializer_range
        self.output_distribution = output_distribution
        self.nll_weight = nll_weight
        self.nll_trains_mean = nll_trains_mean
        self.min_std = min_std
        self.sampling_temperature = sampling_temperature
        self.level_control = level_control
        self.level_control_mode = level_control_mode
        self.level_control_frames = level_control_frames
        self.sampling_noise_correlation = sampling_noise_correlation
        self.mark_generated_frames = mark_generated_frames
        self.generation_adapter = generation_adapter
        super().__init__(**kwargs)
