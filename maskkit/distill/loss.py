"""The knowledge-distillation loss (pure torch).

    loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, labels)     ("mix")
    loss = CE(student, labels) + alpha * soft term                                          ("add")

KL is Hinton et al.'s: the teacher's softened distribution against the student's, averaged over the
batch; T^2 keeps the soft term's gradients on the scale of the hard term's. `kind="mse"` replaces the
soft term by the mean squared error between logits (Xu et al. 2020, self-distillation for BERT).

References: Hinton et al. 2015, Distilling the Knowledge in a Neural Network; Xu et al. 2020, Improving
BERT Fine-Tuning via Self-Ensemble and Self-Distillation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from maskkit.errors import InputError

KINDS = ("kl", "mse")


def check_distillation(alpha: float, temperature: float, kind: str) -> None:
    if not 0 <= alpha <= 1:
        raise InputError(f"alpha (the soft term's weight) must be in [0, 1], got {alpha}")
    if temperature <= 0:
        raise InputError(f"temperature must be > 0, got {temperature}")
    if kind not in KINDS:
        raise InputError(f"kind must be one of {KINDS}, got {kind!r}")


def soft_term(
    student_logits: torch.Tensor,
    temperature: float,
    kind: str = "kl",
    teacher_probs: torch.Tensor | None = None,
    teacher_logits: torch.Tensor | None = None,
) -> torch.Tensor:
    """T^2 * KL(teacher_T || student_T) (batch mean), or MSE between logits for `kind="mse"`.

    `teacher_probs` are probabilities already softened at `temperature` (as `generate_soft_labels`
    writes them); otherwise they are computed from `teacher_logits`.
    """
    student = student_logits.float()
    if kind == "mse":
        if teacher_logits is None:
            raise InputError("the MSE distillation loss needs teacher logits, not probabilities")
        return F.mse_loss(student, teacher_logits.float())
    if teacher_probs is None:
        if teacher_logits is None:
            raise InputError("the KL distillation loss needs teacher probabilities or logits")
        teacher_probs = torch.softmax(teacher_logits.float() / temperature, dim=-1)
    if teacher_probs.shape != student.shape:
        raise InputError(
            f"soft labels have shape {tuple(teacher_probs.shape)} but the student predicts {tuple(student.shape)}"
        )
    log_student = torch.log_softmax(student / temperature, dim=-1)
    teacher = teacher_probs.float()
    kl = (torch.xlogy(teacher, teacher) - teacher * log_student).sum(dim=-1).mean()
    return kl * temperature**2


def distillation_loss(
    student_logits: torch.Tensor,
    labels: torch.Tensor | None,
    alpha: float = 0.5,
    temperature: float = 2.0,
    kind: str = "kl",
    teacher_probs: torch.Tensor | None = None,
    teacher_logits: torch.Tensor | None = None,
    weighting: str = "mix",
) -> torch.Tensor:
    """ "mix": alpha * soft term + (1 - alpha) * cross-entropy with the hard labels (alpha = 1: soft term
    only); "add": cross-entropy + alpha * soft term (Xu et al. 2020's CE + lambda * MSE)."""
    check_distillation(alpha, temperature, kind)
    soft = soft_term(student_logits, temperature, kind, teacher_probs, teacher_logits)
    if weighting == "add":
        if labels is None:
            raise InputError("weighting 'add' adds the soft term to the hard-label loss, so labels are needed")
        return F.cross_entropy(student_logits.float(), labels) + alpha * soft
    if weighting != "mix":
        raise InputError(f"weighting must be 'mix' or 'add', got {weighting!r}")
    loss = alpha * soft
    if alpha < 1:
        if labels is None:
            raise InputError("alpha < 1 mixes in the hard-label loss, so labels are needed")
        loss = loss + (1 - alpha) * F.cross_entropy(student_logits.float(), labels)
    return loss
