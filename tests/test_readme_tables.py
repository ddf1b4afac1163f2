"""The BKDSNN README tables as the book prints them: every printed row and cell from the registry,
the corrected SEW cells marked, and each row's status from the records."""
from __future__ import annotations

import pandas as pd

from replicate.experiments.bkdsnn import README
from replicate.readme_tables import readme_table

EMPTY = pd.DataFrame(columns=["row", "profile", "seed", "top1", "current"])


def test_imagenet_table_has_six_rows_and_marks_the_corrected_cells():
    t, legend = readme_table(EMPTY, "bkdsnn", "BKDSNN Table (ImageNet-1K)", README)
    assert list(t.index) == ["CML + Spikingformer-8-384", "CML + Spikingformer-8-512",
                             "CML + Spikingformer-8-768", "SEW-ResNet18", "SEW-ResNet34", "SEW-ResNet50"]
    assert t.loc["SEW-ResNet34", "BKD (mixed)"] == "71.24*" and t.loc["SEW-ResNet34", "teacher"] == "71.24*"
    assert t.loc["SEW-ResNet18", "BKD (mixed)"] == "65.60" and t.loc["SEW-ResNet50", "Δ"] == "+4.54"
    assert t.loc["CML + Spikingformer-8-768", "params (M)"] == "66.34"
    (reason, key), = legend.items()
    assert "ImageNet" in reason and all(s == f"not here {key}" for s in t.status)


def test_cifar10_status_follows_the_records():
    recs = pd.DataFrame([{"row": "bkdsnn-c10-2-384-mixed", "profile": "cpu", "seed": s, "top1": 40.0,
                          "current": True} for s in range(3)]
                        + [{"row": "bkdsnn-c10-4-384-mixed", "profile": "cpu", "seed": 0, "top1": 1.0,
                            "current": False}])
    t, legend = readme_table(recs, "bkdsnn", "BKDSNN Table (CIFAR-10)", README)
    assert t.loc["CML + Spikingformer-2-384", "status"] == "measured: cpu (n=3)"
    assert t.loc["CML + Spikingformer-4-384", "status"] == "not run yet (cpu)"
    assert legend == {} and t.loc["CML + Spikingformer-4-256", "baseline"] == "94.94"
