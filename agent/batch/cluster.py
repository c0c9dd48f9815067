"""Ray for a batch: a one-machine cluster started for the run, or a cluster given by address.

The code path is the same either way; only ``ray.init``'s address differs.
Android devices are Ray custom resources named :func:`android_resource`
(one unit per device): an Android worker asks for its device's resource, so
Ray places it on the host that has the device and never gives one device to
two workers. A local run declares them itself; on a cluster each env host
declares its own at ``ray start --resources '{"android:SERIAL": 1}'``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator, Mapping
from typing import Any

from qwen_gui_agent.errors import BatchError

ANDROID_RESOURCE_PREFIX = "android:"
REACH_TIMEOUT_S = 5.0


def android_resource(serial: str) -> str:
    """The Ray custom resource that stands for the Android device ``serial``."""
    return ANDROID_RESOURCE_PREFIX + serial


def import_ray() -> Any:
    """The ``ray`` module, or a BatchError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise BatchError("qwen-agent batch runs on Ray, which is not installed: "
                         "pip install 'qwen-gui-agent[fleet]'") from exc
    return ray


@contextlib.contextmanager
def ray_connection(address: str | None, resources: Mapping[str, float] | None = None) -> Iterator[Any]:
    """Ray, connected for the duration of the block.

    ``address`` None starts a local Ray (with ``resources`` declared on it) and
    stops it afterwards; ``"auto"``, ``HOST:PORT`` or ``ray://HOST:PORT``
    joins a running cluster and only disconnects. A process already connected
    (a notebook, a test) keeps its connection and Ray is left running.
    Worker output stays in Ray's logs (``/tmp/ray/session_latest/logs``), so it
    cannot mix into the batch's own progress output.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address is None:
        options.update(address="local", include_dashboard=False, resources=dict(resources or {}))
    else:
        _check_reachable(address)
        options["address"] = address
    try:
        ray.init(**options)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError... by case
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise BatchError(f"could not start or reach {where}: {exc}") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail in seconds when nothing listens at ``HOST:PORT`` (``ray.init`` keeps retrying for
    many minutes); ``auto`` is left to Ray, which reads the address of the cluster on this host."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise BatchError(f"nothing answers at {address} ({exc}): start the cluster's head there "
                         "(ray start --head) or check --ray-address") from exc


def cluster_android_serials(ray: Any) -> list[str]:
    """The devices the cluster's hosts declared as :func:`android_resource` resources."""
    return sorted(name[len(ANDROID_RESOURCE_PREFIX):] for name in ray.cluster_resources()
                  if name.startswith(ANDROID_RESOURCE_PREFIX))


def local_android_serials(adb_port: int | None) -> list[str]:
    """The devices this machine's adb server lists as ready (``adb devices``)."""
    import os

    try:
        import adbutils
    except ImportError as exc:
        raise BatchError("the android env needs adbutils: pip install 'qwen-gui-agent[android]'") from exc
    port = adb_port or int(os.environ.get("ANDROID_ADB_SERVER_PORT") or 5037)
    try:
        infos = adbutils.AdbClient(host="127.0.0.1", port=port, socket_timeout=10).list()
    except (adbutils.AdbError, OSError) as exc:
        raise BatchError(f"no adb server answers on port {port} ({exc}): start it (`adb start-server`) "
                         "or name the devices with --serials") from exc
    return [info.serial for info in infos if info.state == "device"]
