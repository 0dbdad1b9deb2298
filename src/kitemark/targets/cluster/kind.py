"""The cluster target kind: ``--cluster [NAME=]snapshot:DIR[,default-namespace=NS]``.

The reader and the scopes are imported when first needed: every pytest session with Kitemark
installed loads the kind registry, and should not pay for YAML parsing it does not do."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kitemark.core.errors import UsageError
from kitemark.core.kinds import (
    Inventory,
    KindOption,
    ScopeFn,
    TargetKind,
    TargetSpec,
    split_name,
    split_options,
    unique_name,
)
from kitemark.targets.cluster.inputs import SYSTEM_NAMESPACES

TARGET_OPTIONS = ("default-namespace",)


class ClusterKind(TargetKind):
    name = "cluster"
    title = "Kubernetes clusters"
    inputs = (SYSTEM_NAMESPACES,)
    options = (
        KindOption(
            "cluster",
            "a live cluster, `live:CONTEXT` (a kubeconfig context; `live:` the current one, or the pod's "
            "service account when run in a pod), or a snapshot, `snapshot:DIR` (a directory of "
            "`kubectl get -o yaml|json` or `kitemark snapshot` output; `,default-namespace=NS` assesses "
            "objects that name no namespace under NS, default: default)",
            metavar="[NAME=]live:CONTEXT|snapshot:DIR",
            repeatable=True,
        ),
        KindOption(
            "kubeconfig",
            "the kubeconfig of live clusters (default: $KUBECONFIG, else ~/.kube/config)",
            metavar="PATH",
        ),
    )

    @property
    def scopes(self) -> Mapping[str, ScopeFn]:
        from kitemark.targets.cluster.scopes import SCOPES

        return SCOPES

    def specs(self, values: Mapping[str, Any]) -> list[TargetSpec]:
        specs: list[TargetSpec] = []
        for value in values.get("cluster") or []:
            name, rest = split_name(value)
            if rest.startswith("live:"):
                spec = self._live_spec(value, name, rest, values.get("kubeconfig"), specs)
                specs.append(spec)
                continue
            if not rest.startswith("snapshot:"):
                raise UsageError(f"--cluster {value}: expected [NAME=]live:CONTEXT or [NAME=]snapshot:DIR")
            location, options = split_options(rest.removeprefix("snapshot:"), TARGET_OPTIONS)
            path = Path(location).expanduser()
            if not path.is_dir():
                raise UsageError(f"--cluster {value}: directory not found: {path}")
            name = unique_name(name or path.resolve().name, (s.name for s in specs), given=bool(name))
            spec = TargetSpec(self.name, name, str(path.resolve()), dict(options))
            from kitemark.targets.cluster.collect import default_namespace

            default_namespace(spec)  # refuses a malformed namespace name now
            specs.append(spec)
        return specs

    def _live_spec(
        self, value: str, name: str, rest: str, kubeconfig: str | None, specs: list[TargetSpec]
    ) -> TargetSpec:
        try:
            return self.live_spec(rest.removeprefix("live:"), kubeconfig, name, [s.name for s in specs])
        except UsageError as exc:
            raise UsageError(f"--cluster {value}: {exc}") from None

    def live_spec(
        self, context: str, kubeconfig: str | None, name: str = "", taken: list[str] | None = None
    ) -> TargetSpec:
        """The spec of a live cluster; a kubeconfig that cannot serve ``context`` is a ``UsageError``."""
        from kitemark.targets.cluster.live.connect import Target, resolve

        if kubeconfig:
            kubeconfig = str(Path(kubeconfig).expanduser())
        resolved = resolve(Target(context, kubeconfig))
        default = re.sub(r"[^A-Za-z0-9._-]+", "-", resolved.rsplit("/", 1)[-1]).strip("-.") or "live"
        name = unique_name(name or default, taken or (), given=bool(name))
        options = {"context": context, "resolved": resolved, "kubeconfig": kubeconfig or ""}
        return TargetSpec(self.name, name, f"live:{resolved}", options)

    def collect(self, spec: TargetSpec, reads: frozenset[str] = frozenset()) -> Inventory:
        if spec.location.startswith("live:"):
            from kitemark.targets.cluster.live.collect import collect_live

            return collect_live(spec, reads or self.all_reads())
        from kitemark.targets.cluster import collect as snapshot

        return snapshot.collect(spec, reads or self.all_reads())

    @staticmethod
    def all_reads() -> frozenset[str]:
        """What every catalogued cluster check reads (a live read with no selection, a snapshot)."""
        from kitemark.core.catalog import load_checks

        return frozenset(read for c in load_checks().values() if c.kind == "cluster" for read in c.reads)

    def not_assessed(
        self,
        inventory: Inventory,
        inputs: Mapping[str, Any],
        reads: frozenset[str] = frozenset(),
        known: frozenset[str] = frozenset(),
    ) -> list[dict[str, Any]]:
        from kitemark.targets.cluster.out_of_scope import system_namespace_listing
        from kitemark.targets.cluster.unread import unread_listing

        return [*system_namespace_listing(inventory, inputs), *unread_listing(inventory, reads, known)]

    def work(self, spec: TargetSpec) -> tuple[float, int]:
        if spec.location.startswith("live:"):
            return 0.0, 0  # unknown before listing; the run stays in process unless told otherwise
        # Measured (bench/bench_scale.py): 120 MB of `kubectl get -o json` output, 5 checks in 1.1 s,
        # saved as a 41 MB inventory.
        from kitemark.targets.cluster.files import snapshot_files

        size = sum(p.stat().st_size for p in snapshot_files(Path(spec.location))[0])
        return size * 1.8e-9, size // 3

    def demo_specs(self, demo: Path) -> list[TargetSpec]:
        return [TargetSpec(self.name, "demo", str(demo / "cluster"))]

    def describe(self, inventory: Inventory) -> dict[str, Any]:
        return {
            "files": len(inventory.get("files") or []),
            "objects": len(inventory.get("objects") or []),
            "skipped": len(inventory.get("skipped") or []),
        }


KIND = ClusterKind()
