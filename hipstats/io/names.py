"""Column names the loaders accept, shared by the readers (to find the header row and the
data sheet) and by column mapping (:mod:`hipstats.io.assemble`)."""

from __future__ import annotations

import re

__all__ = ["ALIASES", "norm_name", "is_subject_name"]

#: Accepted alternative column names (after lower-casing and replacing non-alphanumerics by _).
ALIASES = {
    "subject": ("subject", "subject_id", "id", "participant", "participant_id", "pid",
                "record_id", "patient", "patient_id"),
    "group": ("group", "arm", "cohort", "grp"),
    "week": ("week", "wk", "weeks", "visit_week"),
    "time": ("time", "visit", "timepoint", "time_point", "session"),
    "strength": ("strength", "strength_involved", "strength_injured", "abductor_strength",
                 "hip_abd_strength"),
    "strength_uninvolved": ("strength_uninvolved", "strength_uninjured",
                            "strength_contralateral"),
    "function_score": ("function_score", "function", "lefs"),
    "pain_vas": ("pain_vas", "vas", "pain", "vas_pain"),
    "valgus_peak": ("valgus_peak", "peak_valgus", "genu_valgum", "knee_valgus"),
    "knee_variability": ("knee_variability", "stride_variability"),
    "body_mass": ("body_mass", "mass", "weight", "body_weight"),
    "height": ("height", "stature"),
    "age": ("age",), "sex": ("sex", "gender"), "side": ("side", "involved_side", "injured_side"),
    "lever_arm": ("lever_arm", "moment_arm"),
}



def norm_name(name) -> str:
    """Lower case, runs of other characters replaced by ``_`` (``"Body mass (kg)"`` ->
    ``"body_mass_kg"``)."""
    return re.sub(r"[^0-9a-z%]+", "_", str(name).strip().lower()).strip("_")


_SUBJECT = frozenset(ALIASES["subject"])


def is_subject_name(cell) -> bool:
    """Whether a header cell names the subject column (``Subject ID``, ``record_id`` ...)."""
    return cell is not None and norm_name(cell) in _SUBJECT
