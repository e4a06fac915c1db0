"""Feature suggestion (``fresco features suggest``): which of the catalog's features predict a new
problem's label, ranked honestly in time, with a draft model config that ``fresco train`` takes.

``candidates`` (which features the rows can be given), ``ranking`` (univariate figures and a quick
model's permutation importance on a later hold-out), ``suggest`` (retrieval and the whole run),
``draft`` (the model config and DSL program), ``report`` (JSON and HTML)."""

from fresco.training.suggestion.draft import DraftSource, draft_program, write_draft
from fresco.training.suggestion.ranking import RankingError
from fresco.training.suggestion.report import stored_suggestions, suggestions_folder, write_report
from fresco.training.suggestion.suggest import Suggestion, draft_name, suggest_features

__all__ = ["DraftSource", "RankingError", "Suggestion", "draft_name", "draft_program", "stored_suggestions",
           "suggest_features", "suggestions_folder", "write_draft", "write_report"]
