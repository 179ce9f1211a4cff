"""The ``fasttext`` reader: records, line numbers, and errors that name the line."""

from __future__ import annotations

import pytest
from mtl_pipeline.errors import DataError

from mtl_data_extras.fasttext_reader import FastTextReader


def reader(**options) -> FastTextReader:
    return FastTextReader(FastTextReader.parse_options(options, "tasks.t.reader"))


def write(tmp_path, text: str, name: str = "data.txt") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def test_reads_labels_text_and_line_numbers(tmp_path):
    path = write(
        tmp_path,
        "\ufeff__label__pos a gripping,  funny film\r\n"
        "\n"
        "__label__neg\tdull and far too long \n"
        "__label__neg keeps __label__x as text\n",
    )
    frame = reader().read(path)
    assert frame["label"].tolist() == ["pos", "neg", "neg"]
    assert frame["text"].tolist() == [
        "a gripping,  funny film",
        "dull and far too long",
        "keeps __label__x as text",
    ]
    assert frame["_row"].tolist() == [1, 3, 4]
    assert frame["labels"].tolist() == [["pos"], ["neg"], ["neg"]]


def test_missing_label_names_the_line(tmp_path):
    path = write(tmp_path, "__label__1 ok\nno label here\n")
    with pytest.raises(DataError, match=r"data\.txt: line 2: no label"):
        reader().read(path)


def test_bare_prefix_is_an_empty_label(tmp_path):
    path = write(tmp_path, "__label__ text\n")
    with pytest.raises(DataError, match="line 1: empty label"):
        reader().read(path)


def test_multiple_labels(tmp_path):
    path = write(tmp_path, "__label__a __label__b both\n")
    with pytest.raises(DataError, match=r"line 1: 2 labels \['a', 'b'\]; expected one"):
        reader().read(path)
    frame = reader(multi_label="first").read(path)
    assert frame.loc[0, "label"] == "a"
    assert frame.loc[0, "labels"] == ["a", "b"]
    assert frame.loc[0, "text"] == "both"


def test_custom_prefix(tmp_path):
    path = write(tmp_path, "#spam buy now\n#ham see you\n")
    assert reader(label_prefix="#").read(path)["label"].tolist() == ["spam", "ham"]


def test_empty_file_and_bad_options(tmp_path):
    with pytest.raises(DataError, match="file is empty"):
        reader().read(write(tmp_path, "  \n"))
    with pytest.raises(Exception, match="multi_label"):
        reader(multi_label="all")


def test_feeds_the_core_ingestion(tmp_path):
    """The records go through the core's standardize() like any built-in reader's."""
    from mtl_pipeline.config import TaskConfig
    from mtl_pipeline.ingestion import standardize
    from mtl_pipeline.task_types.classification import ClassificationTask

    path = write(tmp_path, "__label__1 good\n__label__0 bad\n")
    cfg = TaskConfig(
        type="classification",
        reader="fasttext",
        train=path,
        validation=path,
        text_fields=["text"],
        label_field="label",
        metrics=["accuracy"],
    )
    task_type = ClassificationTask(ClassificationTask.Options())
    table = standardize(reader().read(path), path, cfg, task_type)
    assert table[["row", "text_a", "label"]].values.tolist() == [[1, "good", "1"], [2, "bad", "0"]]
