"""Data sets and evaluation protocols: the shipped benchmark files, synthetic sets, CSV loading, splits.

``load_dataset(name)`` returns a :class:`Dataset` (features, one-hot or real targets,
provenance); ``prepare(dataset, protocol=...)`` turns it into a :class:`Split` (train/test parts,
standardisation fitted on the training part, optional bias column). See SPEC §7.
"""

from ._containers import Dataset, Split
from ._csv import load_csv
from ._prepare import prepare
from ._registry import dataset_table, list_datasets, load_dataset
from ._synthetic import make_random, make_spiral

__all__ = [
    "Dataset",
    "Split",
    "load_dataset",
    "prepare",
    "list_datasets",
    "dataset_table",
    "make_random",
    "make_spiral",
    "load_csv",
]
