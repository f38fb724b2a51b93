from __future__ import annotations

import onnxruntime as ort
import pytest

from ainos.ai.ml import ProviderPolicy, apply_provider_policy, execution_provider_catalog


def test_the_catalog_marks_the_cpu_ready_and_remote_eps_not_local() -> None:
    catalog = {info.name: info for info in execution_provider_catalog()}
    cpu = catalog["CPUExecutionProvider"]
    assert cpu.ready
    assert cpu.devices  # get_ep_devices lists the CPU
    if "AzureExecutionProvider" in catalog:
        assert not catalog["AzureExecutionProvider"].ready


@pytest.mark.parametrize("policy", [ProviderPolicy.DEFAULT, ProviderPolicy.PREFER_CPU])
def test_cpu_policies_are_handed_to_onnxruntime(policy: ProviderPolicy) -> None:
    options = ort.SessionOptions()
    selection = apply_provider_policy(options, policy)
    assert not selection.fallback
    assert selection.by_onnxruntime == hasattr(options, "set_provider_selection_policy")


@pytest.mark.parametrize(
    "policy",
    [
        ProviderPolicy.PREFER_GPU,
        ProviderPolicy.PREFER_NPU,
        ProviderPolicy.MAX_PERFORMANCE,
        ProviderPolicy.MAX_EFFICIENCY,
        ProviderPolicy.MIN_OVERALL_POWER,
    ],
)
def test_accelerator_policies_fall_back_to_the_cpu_and_say_so(policy: ProviderPolicy) -> None:
    if set(ort.get_available_providers()) - {"CPUExecutionProvider", "AzureExecutionProvider"}:
        pytest.skip("this ONNX Runtime build has an accelerator provider")
    options = ort.SessionOptions()
    selection = apply_provider_policy(options, policy)
    assert selection.fallback
    assert selection.providers == ["CPUExecutionProvider"]
    assert "falling back to the CPU" in selection.reason
    session_ok = ort.InferenceSession(_tiny_model(), options, providers=selection.providers)
    assert session_ok.get_providers() == ["CPUExecutionProvider"]


def _tiny_model() -> bytes:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return bytes(model.SerializeToString())
