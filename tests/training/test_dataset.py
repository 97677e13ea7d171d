"""The training table: labels required and of both classes, with errors that say so."""

from __future__ import annotations

import pytest

from persona_risk.features import schema as s
from persona_risk.features.memory_engine import Inputs
from persona_risk.training.dataset import LabelError, training_table


def test_missing_label_column_is_a_clear_error(labelled):
    inputs, _ = labelled
    no_label = Inputs(inputs.events, inputs.quarantine, inputs.accounts.drop(columns=[s.LABEL]))
    with pytest.raises(LabelError, match="accounts.label"):
        training_table(no_label)
    with pytest.raises(LabelError, match="accounts.label"):
        training_table(Inputs(inputs.events, inputs.quarantine, None))


def test_single_class_is_a_clear_error(labelled):
    inputs, _ = labelled
    honest = Inputs(inputs.events, inputs.quarantine, inputs.accounts.assign(**{s.LABEL: 0}))
    with pytest.raises(LabelError, match="only class"):
        training_table(honest)
