"""Inference: the trained nnU-Net (fold 0, final checkpoint) on a folder of images → one label map per case.

nnU-Net writes its own bookkeeping (plans.json, dataset.json, the call's
arguments) beside its predictions, so it writes into a temp dir (removed afterwards) and
only the ``<case><ending>`` label maps are moved to ``--out``. Region models come out
as label maps already: nnU-Net's export applies ``regions_class_order``. The
model folder is only read (it is mounted read-only in a container).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from segarena_kit import MethodError

from segarena_nnunet.cases import read_dataset_json
from segarena_nnunet.trainer import TRAINER_NAME, load_trainer_class

log = logging.getLogger("nnunet")


def read_model_config(model: Path) -> dict[str, Any]:
    path = model / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--model {model}: cannot read config.json ({err}); is it an nnunet training output?") \
            from err
    if config.get("method") != "nnunet":
        raise MethodError(f"--model {model}: config.json is not an nnunet model's (method {config.get('method')!r})")
    return config


def load_predictor(model: Path, config: dict[str, Any], device: torch.device) -> Any:
    """nnUNetPredictor with the network the checkpoint names (as ``initialize_from_trained_model_folder``)."""
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    folder = model / config["model_folder"]
    checkpoint_path = folder / f"fold_{config['fold']}" / config["checkpoint"]
    if not checkpoint_path.is_file():
        raise MethodError(f"--model {model}: the checkpoint {checkpoint_path} is missing")
    dataset_json = json.loads((folder / "dataset.json").read_text())
    plans_manager = PlansManager(json.loads((folder / "plans.json").read_text()))
    # nnU-Net checkpoints hold plans and init args besides the weights: not loadable with weights_only=True.
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    configuration_manager = plans_manager.get_configuration(checkpoint["init_args"]["configuration"])
    trainer_class = load_trainer_class(model / config["trainer_folder"] / f"{TRAINER_NAME}.py")
    network = trainer_class.build_network_architecture(
        plans_manager, configuration_manager,
        determine_num_input_channels(plans_manager, configuration_manager, dataset_json),
        plans_manager.get_label_manager(dataset_json).num_segmentation_heads,
        enable_deep_supervision=False,
    )
    network.load_state_dict(checkpoint["network_weights"])
    predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True,
                                use_mirroring=not config["params"]["disable_tta"],
                                perform_everything_on_device=device.type == "cuda", device=device, verbose=False,
                                verbose_preprocessing=False, allow_tqdm=False)
    predictor.manual_initialization(network, plans_manager, configuration_manager, [checkpoint["network_weights"]],
                                    dataset_json, checkpoint["trainer_name"],
                                    checkpoint.get("inference_allowed_mirroring_axes"))
    return predictor


def list_inputs(images: Path, model_meta: dict[str, Any]) -> dict[str, list[str]]:
    """case -> its channel files, checked against the model's channels."""
    meta = read_dataset_json(images, "--images")
    if meta["channel_names"] != model_meta["channel_names"]:
        raise MethodError(f"--images {images}: channels {meta['channel_names']} differ from the model's "
                          f"{model_meta['channel_names']}")
    ending, n_channels = str(model_meta["file_ending"]), len(model_meta["channel_names"])
    cases = sorted(p.name[: -len(ending) - 5] for p in images.glob(f"*_0000{ending}"))
    if not cases:
        raise MethodError(f"--images {images}: no images (*_0000{ending}) to predict")
    inputs = {}
    for case in cases:
        files = [images / f"{case}_{c:04d}{ending}" for c in range(n_channels)]
        missing = [p.name for p in files if not p.is_file()]
        if missing:
            raise MethodError(f"--images {images}: case {case} lacks {', '.join(missing)}")
        inputs[case] = [str(p) for p in files]
    return inputs


def predict_folder(images: Path, model: Path, out: Path, device: torch.device, threads: int) -> None:
    config = read_model_config(model)
    model_meta = json.loads((model / config["model_folder"] / "dataset.json").read_text())
    inputs = list_inputs(images, model_meta)
    ending = str(model_meta["file_ending"])
    predictor = load_predictor(model, config, device)
    out.mkdir(parents=True, exist_ok=True)
    # nnU-Net writes beside its predictions; a hidden temp dir in --out (same disk: moves are renames).
    with tempfile.TemporaryDirectory(prefix=".nnunet-", dir=out) as tmp:
        cases = sorted(inputs)
        sources, targets = [inputs[c] for c in cases], [str(Path(tmp) / c) for c in cases]
        log.info("predicting %d case(s) with %s (%s, tta %s)", len(cases), config["configuration"], device,
                 "off" if config["params"]["disable_tta"] else "on")
        if config["params"]["fast_cpu"]:
            predictor.predict_from_files_sequential(sources, targets, save_probabilities=False, overwrite=True)
        else:
            predictor.predict_from_files(sources, targets, save_probabilities=False, overwrite=True,
                                         num_processes_preprocessing=threads,
                                         num_processes_segmentation_export=threads)
        for case in cases:
            result = Path(tmp) / f"{case}{ending}"
            if not result.is_file():
                raise MethodError(f"nnU-Net wrote no prediction for case {case}", exit_code=1)
            shutil.move(str(result), out / result.name)
    log.info("wrote %d prediction(s) to %s", len(cases), out)
