"""The common model tester, in the spirit of transformers' ``ModelTesterMixin``: every model of the library joins it
with a tiny config built in code and random inputs (no corpus), in its own test file:

    class MyModelTest(ModelTesterMixin, unittest.TestCase):
        model_class = MyModel                      # a transformers PreTrainedModel or a diffusers ModelMixin

        def get_config(self):                      # a tiny config (a diffusers model: a dict of its init kwargs)
            return MyConfig(hidden_size=8)

        def prepare_inputs(self, batch_size=2):   # forward kwargs; tensors are batch-first (dim 0 = batch)
            return {"input_values": torch.randn(batch_size, 1, 64, generator=torch.Generator().manual_seed(0))}

Optional attributes: ``parameters_without_gradient`` (name substrings of parameters that legitimately get no
gradient from the loss), ``batched_output_names`` (output fields split per item; default: every tensor whose first
dimension is the batch) and ``atol`` (tolerance of batch-vs-single comparisons).
"""

import tempfile
from pathlib import Path

import torch
from diffusers import ModelMixin
from transformers import AutoConfig, AutoModel, PretrainedConfig

BATCH_SIZE = 3


def output_tensors(output) -> dict:
    """Flatten a model output (ModelOutput / BaseOutput / tuple / dict / tensor) into ``{path: tensor}``, in order;
    ``None`` fields and plain numbers are left out."""
    if isinstance(output, torch.Tensor):
        return {"": output}
    if not isinstance(output, (dict, list, tuple)):  # ModelOutput and BaseOutput are dicts
        return {}
    flat = {}
    for key, value in output.items() if isinstance(output, dict) else enumerate(output):
        for sub, tensor in output_tensors(value).items():
            flat[f"{key}.{sub}" if sub else str(key)] = tensor
    return flat


class ModelTesterMixin:
    model_class = None
    parameters_without_gradient: tuple = ()
    batched_output_names: tuple = None
    atol: float = 1e-5

    def get_config(self):
        raise NotImplementedError

    def prepare_inputs(self, batch_size: int = 2) -> dict:
        raise NotImplementedError

    # helpers -----------------------------------------------------------------------------------------------------

    def make_model(self, config):
        """A transformers model takes its config; a diffusers one its ``register_to_config`` keyword arguments."""
        return self.model_class(**config) if isinstance(config, dict) else self.model_class(config)

    def build_model(self, seed: int = 0):
        torch.manual_seed(seed)
        return self.make_model(self.get_config()).eval()

    @property
    def is_transformers_model(self) -> bool:
        return isinstance(self.get_config(), PretrainedConfig)

    def run_model(self, model, inputs: dict, **kwargs) -> dict:
        with torch.no_grad():
            return output_tensors(model(**inputs, **kwargs))

    def assert_outputs_equal(self, first: dict, second: dict, atol: float = 0.0, msg: str = ""):
        self.assertEqual(sorted(first), sorted(second), f"{msg}: different output fields")
        for name in first:
            self.assertEqual(first[name].shape, second[name].shape, f"{msg}: shape of {name}")
            if atol == 0.0:
                self.assertTrue(torch.equal(first[name], second[name]), f"{msg}: {name} differs")
            else:
                torch.testing.assert_close(first[name], second[name], atol=atol, rtol=0, msg=f"{msg}: {name}")

    # the tests ---------------------------------------------------------------------------------------------------

    def test_outputs_are_finite_and_deterministic(self):
        model = self.build_model()
        inputs = self.prepare_inputs(BATCH_SIZE)
        first, second = self.run_model(model, inputs), self.run_model(model, inputs)
        self.assertTrue(first, "the model returned no tensors")
        for name, tensor in first.items():
            self.assertTrue(torch.isfinite(tensor).all(), f"{name} has NaN or infinite values")
        self.assert_outputs_equal(first, second, msg="two eval-mode calls")
        # the same seed builds the same model; another seed another one
        self.assert_outputs_equal(first, self.run_model(self.build_model(), inputs), msg="same seed")
        other = self.run_model(self.build_model(seed=1), inputs)
        self.assertTrue(any(not torch.equal(first[k], other[k]) for k in first), "the seed has no effect")

    def test_return_dict_false_equals_dict_output(self):
        model = self.build_model()
        inputs = self.prepare_inputs(BATCH_SIZE)
        with torch.no_grad():
            as_dict = model(**inputs, return_dict=True)
            as_tuple = model(**inputs, return_dict=False)
        self.assertIsInstance(as_tuple, tuple)
        from_dict, from_tuple = list(output_tensors(as_dict).values()), list(output_tensors(as_tuple).values())
        self.assertEqual(len(from_dict), len(from_tuple))
        for a, b in zip(from_dict, from_tuple):
            self.assertTrue(torch.equal(a, b))

    def test_batch_equals_single_items(self):
        model = self.build_model()
        inputs = self.prepare_inputs(BATCH_SIZE)
        batched = self.run_model(model, inputs)
        names = self.batched_output_names or [n for n, t in batched.items() if t.dim() and t.shape[0] == BATCH_SIZE]
        self.assertTrue(names, "no output has the batch as its first dimension")
        for index in range(BATCH_SIZE):
            single_inputs = {k: v[index:index + 1] if isinstance(v, torch.Tensor) and v.dim() and
                             v.shape[0] == BATCH_SIZE else v for k, v in inputs.items()}
            single = self.run_model(model, single_inputs)
            for name in names:
                torch.testing.assert_close(single[name], batched[name][index:index + 1], atol=self.atol, rtol=0,
                                           msg=f"item {index} of {name}")

    def test_save_load_gives_identical_outputs(self):
        model = self.build_model()
        inputs = self.prepare_inputs(BATCH_SIZE)
        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder)
            self.assertTrue(list(Path(folder).glob("*.safetensors")), "weights must be saved as safetensors")
            reloaded = self.model_class.from_pretrained(folder).eval()
        self.assertIs(type(reloaded), self.model_class)
        self.assert_outputs_equal(self.run_model(model, inputs), self.run_model(reloaded, inputs), msg="reloaded")
        for (name, a), (_, b) in zip(model.state_dict().items(), reloaded.state_dict().items()):
            self.assertTrue(torch.equal(a, b), f"{name} changed through save/load")

    def test_config_round_trip(self):
        config = self.get_config()
        if self.is_transformers_model:
            again = type(config).from_dict(config.to_dict())
            self.assertEqual(again.to_dict(), config.to_dict())
            with tempfile.TemporaryDirectory() as folder:
                config.save_pretrained(folder)
                self.assertEqual(type(config).from_pretrained(folder).to_dict(), config.to_dict())
                self.assertIs(type(AutoConfig.from_pretrained(folder)), type(config))
        else:
            model = self.make_model(config)
            again = self.model_class.from_config(model.config)
            self.assertEqual(dict(again.config), dict(model.config))

    def test_auto_model_round_trip(self):
        if not self.is_transformers_model:
            self.skipTest("AutoModel loads transformers models; diffusers models load with their own class")
        model = self.build_model()
        inputs = self.prepare_inputs(BATCH_SIZE)
        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder)
            reloaded = AutoModel.from_pretrained(folder).eval()
        self.assertIs(type(reloaded), self.model_class)
        self.assert_outputs_equal(self.run_model(model, inputs), self.run_model(reloaded, inputs), msg="AutoModel")

    def test_gradients_reach_every_parameter(self):
        model = self.build_model().train()
        output = model(**self.prepare_inputs(BATCH_SIZE), return_dict=True)
        loss = getattr(output, "loss", None)
        if loss is None:
            loss = next(iter(output_tensors(output).values())).float().square().mean()
        loss.backward()
        missing = [name for name, p in model.named_parameters() if p.requires_grad
                   and not any(skip in name for skip in self.parameters_without_gradient)
                   and p.grad is None]  # zero is allowed: a zero-initialised residual branch starts with none
        self.assertEqual(missing, [], "parameters the loss does not reach")
        for name, p in model.named_parameters():
            if p.grad is not None:
                self.assertTrue(torch.isfinite(p.grad).all(), f"non-finite gradient for {name}")

    def test_model_is_a_library_model(self):
        self.assertTrue(issubclass(self.model_class, (ModelMixin,)) or self.is_transformers_model)
        if self.is_transformers_model:
            self.assertIsNotNone(self.model_class.config_class)
            self.assertIn(self.model_class.main_input_name, self.prepare_inputs(1))
