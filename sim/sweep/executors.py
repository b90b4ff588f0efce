"""Where points run: a small :class:`Executor` interface and its implementations.

* ``serial``: in this process, one point after another (debugging, tiny sweeps, the API's default for
  one worker);
* ``local``: worker processes on this machine (``concurrent.futures.ProcessPoolExecutor``; forked on
  Linux, so workers start in milliseconds with the simulator already imported);
* ``dask``: a Dask distributed cluster, either at a scheduler address (``tcp://HOST:PORT``) or a
  ``LocalCluster`` started for the sweep.

The sweep runner only calls :meth:`Executor.submit`, :meth:`Executor.wait` and :meth:`Executor.close`
(and :meth:`Executor.restart` after a worker process died), so every backend runs the same code path.
Workers are long-lived: each compiles the numba kernels it needs once (numba also caches them on
disk) and keeps its operator-result memo across the points it runs.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sim.errors import PimsimError


class Executor(Protocol):
    """What the sweep runner needs from a backend."""

    name: str
    slots: int  #: points worth keeping in flight (about the number of worker threads/processes)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Start ``fn(*args)``; return a future (``.result()``, ``.exception()``, ``.done()``)."""

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[set[Any], set[Any]]:
        """Block until at least one future is done or ``timeout`` s passed; return (done, not done)."""

    def restart(self) -> None:
        """Replace broken workers (after a worker process died); pending futures are lost."""

    def close(self, cancel: bool = False) -> None:
        """Release the workers; with ``cancel`` stop running points instead of waiting for them."""


class WorkerDied(RuntimeError):
    """The worker process running a point died (killed, out of memory, crashed)."""


def is_worker_death(exc: BaseException) -> bool:
    """True when ``exc`` means a worker process died rather than the point raising."""
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(exc, (BrokenProcessPool, WorkerDied)):
        return True
    return type(exc).__name__ in ("KilledWorker", "CommClosedError")


class SerialExecutor:
    """Runs each point in this process when it is submitted."""

    name = "serial"
    slots = 1

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # the runner turns it into a failed point
            fut.set_exception(exc)
        return fut

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[set[Any], set[Any]]:
        done, pending = cf.wait(list(futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done), set(pending)

    def restart(self) -> None:
        pass

    def close(self, cancel: bool = False) -> None:
        pass


class LocalExecutor:
    """Worker processes on this machine (a ``ProcessPoolExecutor``).

    On Linux the workers are forked, all at once, when the executor is created (before a progress bar
    starts any thread), so they inherit the imported simulator and never re-run the caller's script;
    elsewhere they are spawned (scripts then need the ``if __name__ == "__main__":`` guard).
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.slots = max(1, workers or os.cpu_count() or 1)
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        import multiprocessing as mp
        import sys

        from sim.sweep import worker

        method = "fork" if sys.platform.startswith("linux") else "spawn"
        pool = cf.ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=mp.get_context(method),
            initializer=worker.init_worker,
            initargs=(os.getpid(),),
        )
        pool.submit(worker.ready).result()  # start the workers now (a forking pool starts them all at once)
        return pool

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(fn, *args)
        except BrokenProcessPool as exc:  # a worker died: report it through the future, like the others
            fut: cf.Future = cf.Future()
            fut.set_exception(exc)
            return fut

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[set[Any], set[Any]]:
        done, pending = cf.wait(list(futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done), set(pending)

    def restart(self) -> None:
        self._shutdown(cancel=True)
        self._pool = self._new_pool()

    def close(self, cancel: bool = False) -> None:
        self._shutdown(cancel)

    def _shutdown(self, cancel: bool) -> None:
        if cancel:
            # stop points that are running now rather than waiting for them (Ctrl-C, broken pool)
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                if proc.is_alive():
                    proc.terminate()
        self._pool.shutdown(wait=True, cancel_futures=cancel)


class DaskExecutor:
    """A Dask distributed cluster: ``DaskExecutor(address)`` or :meth:`DaskExecutor.local`."""

    name = "dask"

    def __init__(self, address: str | None = None, *, cluster: Any = None, timeout_s: float = 10.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise PimsimError(
                "Dask is not installed: pip install 'pimsim[dist]' (dask and distributed)"
            ) from None
        self._cluster = cluster
        target = cluster if cluster is not None else address
        try:
            self.client = Client(target, timeout=f"{timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            if cluster is not None:
                cluster.close()
            raise PimsimError(
                f"cannot reach the Dask scheduler at {address}: {exc} "
                f"(start one with `dask scheduler` and `dask worker ADDRESS`, or use --dask-local)"
            ) from None
        self.address = self.client.scheduler.address
        self._check_runs_pimsim(timeout_s)
        threads = sum(self.client.nthreads().values()) or 1
        self.slots = max(2, 2 * threads)

    def _check_runs_pimsim(self, timeout_s: float) -> None:
        """Run a no-op pimsim task, so that a cluster without pimsim (or without workers) is reported
        before any point runs: the scheduler and every worker must import ``sim``."""
        from sim.sweep import worker

        try:
            self.client.submit(worker.ready, pure=False).result(timeout=max(timeout_s, 1.0) * 3)
        except Exception as exc:
            self.close()
            text = " ".join(str(exc).split())
            first = text.split(". ")[0].rstrip(".") if text else type(exc).__name__
            raise PimsimError(
                f"the Dask cluster at {self.address} cannot run pimsim tasks ({first}); install pimsim, "
                f"the same version, on the scheduler and on every worker, and check that workers are "
                f"connected"
            ) from None

    @classmethod
    def local(
        cls, workers: int | None = None, *, processes: bool = True, threads_per_worker: int = 1
    ) -> DaskExecutor:
        """Start a ``LocalCluster`` of ``workers`` workers for this sweep (closed with the executor)."""
        try:
            from distributed import LocalCluster
        except ImportError:
            raise PimsimError(
                "Dask is not installed: pip install 'pimsim[dist]' (dask and distributed)"
            ) from None
        cluster = LocalCluster(
            n_workers=max(1, workers or os.cpu_count() or 1),
            processes=processes,
            threads_per_worker=threads_per_worker,
            dashboard_address=None,
        )
        return cls(cluster=cluster)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[set[Any], set[Any]]:
        from distributed import wait

        futs = list(futures)
        try:
            with self.client.as_current():
                done, pending = wait(futs, timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set(), set(futs)
        return set(done), set(pending)

    def restart(self) -> None:
        pass  # Dask replaces dead workers itself

    def close(self, cancel: bool = False) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


def make_executor(
    workers: int | None = None, *, scheduler: str | None = None, dask_local: bool = False
) -> Executor:
    """The executor for command-line choices: Dask at ``scheduler``, a Dask ``LocalCluster``, local processes,
    or (``workers == 0``) this process."""
    if scheduler and dask_local:
        raise PimsimError("choose one of --scheduler and --dask-local")
    if scheduler:
        return DaskExecutor(scheduler)
    if dask_local:
        return DaskExecutor.local(workers)
    if workers is not None and workers < 0:
        raise PimsimError(f"--workers must be 0 (this process) or more (got {workers})")
    if workers == 0:
        return SerialExecutor()
    return LocalExecutor(workers)


#: Backends by name (for the API's ``executor="..."``), each called with the number of workers.
EXECUTORS: dict[str, Callable[..., Executor]] = {
    "serial": lambda workers=None: SerialExecutor(),
    "local": lambda workers=None: LocalExecutor(workers),
    "dask-local": lambda workers=None: DaskExecutor.local(workers),
}
