"""The feeder of one run, recording as it feeds: every episode to ``episodes.jsonl``, what
the curriculum decided to ``generations.jsonl``, evaluations to ``evals.csv``, the
curriculum's scalars to TensorBoard, and a progress bar.

A run resumed from a checkpoint cuts its records back to what the checkpoint had seen,
so every record is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sebn.curricula.base import BaseCurriculum, Episode
from sebn.runner.feeder import CurriculumFeeder
from sebn.runner.rundir import RunDir


class RecordingFeeder(CurriculumFeeder):
    """A :class:`~sebn.runner.feeder.CurriculumFeeder` that writes the run's records into ``run``.

    Args:
        curriculum: the run's curriculum.
        run: its run directory.
        total_steps: the run's budget (for the progress bar).
        progress: show a progress bar.
        gradients, clear_buffer: the feeder's options.
    """

    def __init__(
        self,
        curriculum: BaseCurriculum,
        run: RunDir,
        total_steps: int,
        progress: bool,
        gradients: str | None = None,
        clear_buffer: bool = False,
    ):
        self.run = run
        self.episodes, self.generations = run.writers()
        self.written_generations, self.written_evals = run.count_records()
        self.writer = None
        self.log: Callable[[str, float, int], None] | None = None
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, unit="step", desc=f"{run.path}", dynamic_ncols=True)
        super().__init__(curriculum, gradients=gradients, clear_buffer=clear_buffer, on_finished=self._record)

    def on_start(self, handles: Mapping[str, Any]) -> None:
        """The curriculum's scalars go through the agent's ``log`` when it hands one over,
        else to a TensorBoard writer of their own (``*.curriculum``)."""
        super().on_start(handles)
        self.log = handles.get("log")
        if self.log is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run.path), filename_suffix=".curriculum")
            self.log = self.writer.add_scalar

    def _record(self, episode: Episode) -> None:
        self.episodes.write(episode.to_record())
        if episode.gradients is not None:
            for key in ("mean_norm", "sum_norm"):
                self.log(f"curriculum/student_grad_{key}", episode.gradients[key], episode.step)
        for key, value in self.curriculum.pop_scalars():
            self.log(key, value, episode.step)
        for generation in self.curriculum.pop_log():
            self.generations.write(generation)
            self.written_generations += 1

    def on_step(self, global_step: int) -> None:
        super().on_step(global_step)
        if self.bar is not None:
            self.bar.update(global_step - self.bar.n)

    def on_eval(self, step: int, metrics: Mapping[str, float]) -> None:
        self.run.append_eval(step, metrics)
        self.written_evals += 1
        if self.bar is not None and "eval/success_rate" in metrics:
            self.bar.set_postfix(success=f"{metrics['eval/success_rate']:.2f}")

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        return {**state, "generations": self.written_generations, "evals": self.written_evals}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Back to the checkpoint: its curriculum, and the records written up to it."""
        super().load_state_dict(state)
        self.episodes.close()
        self.generations.close()
        self.run.keep_first_records(self.delivered, state["generations"], state["evals"])
        self.written_generations, self.written_evals = state["generations"], state["evals"]
        self.episodes, self.generations = self.run.writers()
        # what the curriculum logged before the checkpoint was written then
        self.curriculum.pop_log()
        self.curriculum.pop_scalars()

    def close(self) -> None:
        super().close()
        if self.writer is not None:
            self.writer.close()
        self.episodes.close()
        self.generations.close()
        if self.bar is not None:
            self.bar.close()
