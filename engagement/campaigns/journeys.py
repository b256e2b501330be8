"""Journey steps as plain data: the rules a journey keeps (branch targets exist, no loop,
waits last, sends have a message) and the builder's edits (insert, replace, delete, move),
which keep every branch pointing at the same step however the list is reordered.

A step is the dict services.save_journey takes: {action, variant, wait_hours, condition,
if_true, if_false}; branch targets are list indexes, None meaning "the next step".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from engagement.campaigns.models import Campaign, JourneyStep

Step = dict[str, Any]
Action = JourneyStep.Action
STEP_FIELDS = ("action", "variant", "wait_hours", "condition", "if_true", "if_false")


@dataclass(frozen=True)
class Problem:
    step: int | None  # list index, None = the journey as a whole
    message: str


class JourneyProblems(ValueError):
    """The journey (or the edit asked for) breaks a rule; nothing was saved."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))


def steps_of(campaign: Campaign) -> list[Step]:
    return [{name: getattr(step, name) for name in STEP_FIELDS} for step in campaign.steps.select_related("variant")]


def next_steps(steps: Sequence[Step], index: int) -> list[int]:
    """Where a customer can go from this step (an index past the last one is the end)."""
    step = steps[index]
    if step["action"] == Action.END:
        return []
    if step["action"] == Action.BRANCH:
        return [index + 1 if target is None else target for target in (step.get("if_true"), step.get("if_false"))]
    return [index + 1]


def problems(steps: Sequence[Step], *, campaign_id: int | None = None) -> list[Problem]:
    found = []
    for index, step in enumerate(steps):
        found += [Problem(index, message) for message in _step_problems(step, len(steps), campaign_id)]
    if not found:  # loops are only worth looking for once every target exists
        loop = _find_loop(steps)
        if loop:
            numbers = " → ".join(str(i + 1) for i in loop)
            found.append(Problem(loop[0], _(
                "Steps %(steps)s lead back to each other, so a customer could loop forever: "
                "point the branch at a later step or add an End step."
            ) % {"steps": numbers}))
    return found


def _step_problems(step: Step, count: int, campaign_id: int | None) -> list[str]:
    action = step.get("action")
    if action == Action.SEND:
        variant = step.get("variant")
        if variant is None:
            return [_("A send step needs a message.")]
        if campaign_id is not None and variant.campaign_id != campaign_id:
            return [_("A send step can only send one of this campaign's messages.")]
    elif action == Action.WAIT:
        if (step.get("wait_hours") or 0) <= 0:
            return [_("A wait must last at least one hour.")]
    elif action == Action.BRANCH:
        messages = []
        if step.get("condition") not in JourneyStep.Condition.values:
            messages.append(_("Choose what the branch checks."))
        for target in (step.get("if_true"), step.get("if_false")):
            if target is not None and not 0 <= target < count:
                messages.append(_("Step %(number)s does not exist.") % {"number": target + 1})
        return messages
    elif action != Action.END:
        return [_("Unknown kind of step.")]
    return []


def _find_loop(steps: Sequence[Step]) -> list[int]:
    """One cycle in the step graph (its indexes, first repeated at the end), or []."""
    done: set[int] = set()
    for start in range(len(steps)):
        if start in done:
            continue
        path, stack = [start], [iter(next_steps(steps, start))]
        while stack:
            for following in stack[-1]:
                if following >= len(steps) or following in done:
                    continue
                if following in path:
                    return path[path.index(following):] + [following]
                path.append(following)
                stack.append(iter(next_steps(steps, following)))
                break
            else:
                done.add(path.pop())
                stack.pop()
    return []


def _retarget(steps: Sequence[Step], new_index: Callable[[int], int]) -> list[Step]:
    moved = []
    for step in steps:
        step = dict(step)
        for key in ("if_true", "if_false"):
            if step.get(key) is not None:
                step[key] = new_index(step[key])
        moved.append(step)
    return moved


def insert_step(steps: Sequence[Step], step: Step, *, before: int | None) -> list[Step]:
    """Add a step before the step at `before` (None: at the end). The new step's targets
    name steps as they were numbered before the insertion."""
    at = len(steps) if before is None else before
    if not 0 <= at <= len(steps):
        raise JourneyProblems([Problem(None, _("Step %(number)s does not exist.") % {"number": at + 1})])
    shifted = _retarget([*steps[:at], step, *steps[at:]], lambda target: target + 1 if target >= at else target)
    return shifted


def replace_step(steps: Sequence[Step], index: int, step: Step) -> list[Step]:
    _check_index(steps, index)
    return [*steps[:index], step, *steps[index + 1:]]


def delete_step(steps: Sequence[Step], index: int) -> list[Step]:
    """Remove a step; refused while a branch still goes to it."""
    _check_index(steps, index)
    sources = [i for i, step in enumerate(steps) if i != index and index in (step.get("if_true"), step.get("if_false"))]
    if sources:
        raise JourneyProblems([Problem(index, _(
            "Step %(number)s is where the branch in step %(source)s goes: point that branch elsewhere first."
        ) % {"number": index + 1, "source": sources[0] + 1})])
    remaining = [*steps[:index], *steps[index + 1:]]
    return _retarget(remaining, lambda target: target - 1 if target > index else target)


def move_step(steps: Sequence[Step], index: int, offset: int) -> list[Step]:
    """Swap a step with its neighbour (offset -1 up, +1 down); branches follow their steps."""
    _check_index(steps, index)
    other = index + offset
    if offset not in (-1, 1) or not 0 <= other < len(steps):
        return list(steps)
    swapped = list(steps)
    swapped[index], swapped[other] = swapped[other], swapped[index]
    return _retarget(swapped, lambda target: {index: other, other: index}.get(target, target))


def _check_index(steps: Sequence[Step], index: int) -> None:
    if not 0 <= index < len(steps):
        raise JourneyProblems([Problem(None, _("Step %(number)s does not exist.") % {"number": index + 1})])
