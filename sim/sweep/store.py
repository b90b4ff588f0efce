"""The results folder of a sweep: nothing finished is ever lost.

Layout of ``DIR``::

    sweep.yaml              the sweep spec (and the pimsim version that ran it)
    parts/RUN_ID.ok.parquet one row per finished point, written atomically the moment it finishes
    parts/RUN_ID.failed.parquet   a point that raised: its row holds the error
    configs/RUN_ID.yaml     the point's fully resolved config (hardware in SI units, model, workload)
    errors/RUN_ID.txt       the traceback of a failed point
    results.parquet         all parts in one table (rewritten as the sweep goes and when it ends)
    results.csv             the same table as CSV (only with ``csv=True`` / ``--csv``)

The part files are the truth: :func:`load_results` reads ``results.parquet`` when it holds exactly the
finished run ids and otherwise rebuilds the table from the parts, so a sweep killed at any moment
loses only the points that were running.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from sim.errors import PimsimError

OK, FAILED = "ok", "failed"
RESULTS = "results.parquet"


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename the file into place (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultStore:
    """Reads and writes one sweep's results folder (see the module doc)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.parts = self.root / "parts"
        self.configs = self.root / "configs"
        self.errors = self.root / "errors"

    # ------------------------------------------------------------------------------------ state

    def statuses(self) -> dict[str, str]:
        """Run id -> ``"ok"`` or ``"failed"`` for every point with a part file (ok wins)."""
        out: dict[str, str] = {}
        if not self.parts.is_dir():
            return out
        for p in self.parts.iterdir():
            name = p.name
            if name.startswith(".") or not name.endswith(".parquet"):
                continue
            run_id, _, status = name[: -len(".parquet")].partition(".")
            if status == OK or (status == FAILED and out.get(run_id) != OK):
                out[run_id] = status
        return out

    def has_results(self) -> bool:
        """True when the folder already holds finished points."""
        return bool(self.statuses())

    # ------------------------------------------------------------------------------------ writing

    def write_manifest(self, spec: dict[str, Any], extra: dict[str, Any]) -> None:
        """Write ``sweep.yaml``: the spec and facts about the run (version, keys)."""
        data = {**extra, "spec": spec}
        _atomic_write(
            self.root / "sweep.yaml",
            lambda p: p.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True)),
        )

    def read_manifest(self) -> dict[str, Any]:
        """The ``sweep.yaml`` data, or an empty dict."""
        path = self.root / "sweep.yaml"
        return yaml.safe_load(path.read_text()) or {} if path.is_file() else {}

    def write_point(
        self, row: dict[str, Any], resolved: dict[str, Any], traceback_text: str | None = None
    ) -> None:
        """Record one finished point: its config, its traceback if it failed, then its part file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        run_id = row["run_id"]
        _atomic_write(
            self.configs / f"{run_id}.yaml",
            lambda p: p.write_text(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True)),
        )
        if traceback_text:
            _atomic_write(self.errors / f"{run_id}.txt", lambda p: p.write_text(traceback_text))
        status = row["status"]
        table = pa.Table.from_pylist([row])
        _atomic_write(self.parts / f"{run_id}.{status}.parquet", lambda p: pq.write_table(table, p))
        if status == OK:
            (self.parts / f"{run_id}.{FAILED}.parquet").unlink(missing_ok=True)
            (self.errors / f"{run_id}.txt").unlink(missing_ok=True)

    def consolidate(self, *, csv: bool = False) -> Any:
        """Rebuild ``results.parquet`` (and ``results.csv``) from the parts; return the table (pandas)."""
        import pyarrow.parquet as pq

        df = self._table_from_parts()
        table = _to_arrow(df)
        _atomic_write(self.root / RESULTS, lambda p: pq.write_table(table, p))
        if csv:
            _atomic_write(self.root / "results.csv", lambda p: df.to_csv(p, index=False))
        return df

    # ------------------------------------------------------------------------------------ reading

    def _part_files(self) -> list[Path]:
        statuses = self.statuses()
        return [self.parts / f"{rid}.{st}.parquet" for rid, st in statuses.items()]

    def _table_from_parts(self) -> Any:
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        files = self._part_files()
        if not files:
            return pd.DataFrame({"run_id": pd.Series(dtype=str), "status": pd.Series(dtype=str)})
        tables = [pq.read_table(f) for f in files]
        df = pa.concat_tables(tables, promote_options="permissive").to_pandas()
        return _order(df)

    def load(self, *, with_config: bool = False) -> Any:
        """The results table as a pandas DataFrame (see :func:`load_results`)."""
        import pyarrow.parquet as pq

        if not self.root.is_dir():
            raise PimsimError(f"no sweep results in {self.root}: the folder does not exist")
        statuses = self.statuses()
        path = self.root / RESULTS
        df = None
        if path.is_file():
            df = pq.read_table(path).to_pandas()
            stored = dict(zip(df.get("run_id", []), df.get("status", []), strict=False))
            if self.parts.is_dir() and stored != statuses:  # parts are the record when present
                df = None
        if df is None:
            if not statuses and not (self.root / "sweep.yaml").is_file():
                raise PimsimError(f"no sweep results in {self.root} (no parts/ and no results.parquet)")
            df = self._table_from_parts()
        df = _order(df)
        manifest = self.read_manifest()
        df.attrs["swept"] = list(manifest.get("keys", []))
        df.attrs["units"] = dict(manifest.get("units", {}))
        df.attrs["root"] = str(self.root)
        if with_config and len(df):
            df = df.merge(self._config_columns(list(df["run_id"])), on="run_id", how="left")
            df.attrs.update(
                swept=list(manifest.get("keys", [])),
                units=dict(manifest.get("units", {})),
                root=str(self.root),
            )
        return df

    def load_config(self, run_id: str) -> dict[str, Any]:
        """The resolved config stored for ``run_id``."""
        path = self.configs / f"{run_id}.yaml"
        if not path.is_file():
            raise PimsimError(f"no stored config for run id {run_id!r} in {self.root}")
        return yaml.safe_load(path.read_text())

    def _config_columns(self, run_ids: list[str]) -> Any:
        import pandas as pd

        from sim.config.display import flatten

        rows = []
        for rid in run_ids:
            try:
                cfg = self.load_config(rid).get("config", {})
            except PimsimError:
                cfg = {}
            rows.append({"run_id": rid, **{f"config.{k}": v for k, v in flatten(cfg)}})
        return pd.DataFrame(rows)


def _order(df: Any) -> Any:
    """Rows in sweep order; identifying columns first."""
    if "point" in df.columns and len(df):
        df = df.sort_values(["point", "run_id"], kind="stable").reset_index(drop=True)
    first = [c for c in ("run_id", "point", "status", "error") if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]]


def _to_arrow(df: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)


def load_results(path: str | os.PathLike[str], *, with_config: bool = False) -> Any:
    """Load a sweep's results table into pandas: one row per finished point.

    Columns: ``run_id``, ``point`` (position in the sweep), ``status`` (``ok``/``failed``), ``error``,
    ``hw``, ``device``, the ``workload.*`` fields, each swept key (hardware keys in SI units), the
    result figures (``latency_s``, ``ttft_s``, ``tbt_s``, ``energy_J``, ``tokens_per_s``,
    ``energy_J.COMPONENT``, ``PHASE.time_s``, ...), ``elapsed_s`` and ``worker``. With
    ``with_config=True`` every key of each point's resolved config is added as ``config.KEY``.
    ``df.attrs["swept"]`` lists the swept keys and ``df.attrs["units"]`` their SI units.
    """
    return ResultStore(path).load(with_config=with_config)


def load_config(path: str | os.PathLike[str], run_id: str) -> dict[str, Any]:
    """The fully resolved config of one point of the sweep in ``path``."""
    return ResultStore(path).load_config(run_id)
