"""An optional text classifier for unfit content: a Transformers sequence-classification model from a local folder.

Any fine-tuned toxicity or NSFW classifier saved with `save_pretrained` works (e.g. a multilingual XLM-R toxicity
model downloaded once with `huggingface-cli download`). Its labels (`config.id2label`) map to content categories
with `labels` (`{toxic: offensive, sexual_explicit: sexual, identity_attack: hate}`); labels not mapped are ignored.
Multi-label models (`problem_type: multi_label_classification`) are scored with a sigmoid, others with a softmax.
Nothing is downloaded: a folder that is not there is an error that says how to get one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from curate.core.errors import CurateError, MissingDependencyError
from curate.models.hf import load_tokenizer, resolve_device
from curate.models.locate import ModelNotAvailableError, find_local, places


class ClassifierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="a local model folder (relative to the recipe) with a sequence-classification model")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="model label -> content category (`{toxic: offensive, sexual_explicit: "
        "sexual}`); default: every label but a neutral one (`neutral`, `non-toxic`, `normal`, `ok`, `safe`, `clean`) "
        "is its own category",
    )
    threshold: float = Field(0.5, gt=0, lt=1, description="a label scoring at least this is a hit")
    batch_size: int = Field(32, ge=1, description="texts per model call")
    max_length: int = Field(512, ge=8, description="tokens read per text (longer texts are cut)")
    device: str = Field("auto", description="`auto` (a GPU when there is one), `cpu` or `cuda`")


NEUTRAL = {"neutral", "non-toxic", "non_toxic", "nontoxic", "normal", "ok", "safe", "clean", "not_toxic", "label_0"}


class ContentClassifier:
    """Scores texts; `hits(texts)` -> per text the categories whose label scored at least the threshold."""

    def __init__(self, config: ClassifierConfig, recipe_dir: Path):
        try:
            import torch
            from transformers import AutoModelForSequenceClassification
        except ImportError:
            raise MissingDependencyError("the content classifier", "transformers", "content-model") from None
        path = find_local(config.model, recipe_dir, lambda p: (p / "config.json").is_file())
        if path is None:
            raise ModelNotAvailableError(
                f"content classifier: no model folder at {places(config.model, recipe_dir)} (a folder with "
                "config.json). Download a classifier once, e.g. `hf download <id> --local-dir <folder>`, and name "
                "that folder in `classifier.model`"
            )
        self.config, self.torch = config, torch
        self.tokenizer = load_tokenizer(str(path), "content classifier")
        self.model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True).eval()
        device = resolve_device(config.device)
        self.model.to(device)
        self.device = device
        id2label = {int(i): str(label) for i, label in self.model.config.id2label.items()}
        mapping = config.labels or {label: label.lower() for label in id2label.values() if label.lower() not in NEUTRAL}
        unknown = sorted(set(config.labels) - set(id2label.values()))
        if unknown:
            raise CurateError(
                f"content classifier: labels {unknown} are not the model's (it has {sorted(id2label.values())})"
            )
        self.categories = {i: mapping[label] for i, label in id2label.items() if label in mapping}
        self.multi_label = self.model.config.problem_type == "multi_label_classification"

    def scores(self, texts: list[str]) -> list[dict[str, float]]:
        """Per text: category -> the highest score of its labels."""
        out = []
        torch = self.torch
        for start in range(0, len(texts), self.config.batch_size):
            chunk = texts[start : start + self.config.batch_size]
            inputs = self.tokenizer(
                chunk, truncation=True, max_length=self.config.max_length, padding=True, return_tensors="pt"
            ).to(self.device)
            with torch.no_grad():
                logits = self.model(**inputs).logits.float()
            probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
            for row in probs.cpu().tolist():
                found: dict[str, float] = {}
                for index, category in self.categories.items():
                    found[category] = max(found.get(category, 0.0), row[index])
                out.append(found)
        return out

    def hits(self, texts: list[str]) -> list[dict[str, float]]:
        """Per text: the categories scoring at least the threshold, with their scores."""
        return [{c: s for c, s in row.items() if s >= self.config.threshold} for row in self.scores(texts)]
