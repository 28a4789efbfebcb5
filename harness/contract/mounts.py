"""Mount roles of the method contract (containers/CONTRACT.md), their paths in a container and their flags."""

from __future__ import annotations

#: Mount roles and their in-container paths.
CONTAINER_PATHS: dict[str, str] = {
    "data": "/data/train",
    "val": "/data/val",
    "images": "/data/images",
    "init": "/init",
    "model": "/model",
    "out": "/out",
    "params": "/params.json",
}
#: Roles the method may write to; everything else is mounted read-only.
WRITABLE_ROLES = ("out",)
#: The entry point's command-line flag of each role, in the order they are passed.
ROLE_FLAGS: dict[str, str] = {"data": "--data", "val": "--val", "images": "--images", "init": "--init",
                              "model": "--model", "out": "--out", "params": "--params"}

#: Files the harness reads from what a method wrote (containers/CONTRACT.md lists them all).
HISTORY_FILE = "history.csv"  # train: one row per epoch, shown in the report
MODEL_INFO_FILE = "model_info.json"  # train: facts about the trained network (parameters, ...) for the report
VOLUMES_FILE = "volumes.csv"  # predict of a `output: volumes` method: per-case volumes instead of masks
MODEL_FILES = ("model.pt", "config.json")  # train: what a fine-tuning regime hands on to the next method
