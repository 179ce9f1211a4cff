"""The built-in components, registered as an ordinary plugin through the public hooks.

It is found through the same ``mtl_pipeline`` entry-point group as any third-party
plugin (entry point ``builtins``), and can be disabled the same way.
"""

from __future__ import annotations

from mtl_pipeline import PLUGIN_API_VERSION
from mtl_pipeline.hookspecs import hookimpl

MTL_PIPELINE_API_VERSION = PLUGIN_API_VERSION


@hookimpl
def register_architectures() -> list[type]:
    from mtl_pipeline.architectures.adapters import Adapters
    from mtl_pipeline.architectures.cross_stitch import CrossStitch
    from mtl_pipeline.architectures.hard_sharing import HardSharing
    from mtl_pipeline.architectures.hierarchical import Hierarchical
    from mtl_pipeline.architectures.mmoe import MMoE
    from mtl_pipeline.architectures.per_task import PerTask  # how per-task models are saved
    from mtl_pipeline.architectures.shared_private import SharedPrivate
    from mtl_pipeline.architectures.sluice import Sluice

    return [HardSharing, CrossStitch, Sluice, Hierarchical, Adapters, MMoE, SharedPrivate, PerTask]


@hookimpl
def register_losses() -> list[type]:
    from mtl_pipeline.losses.cagrad import CAGrad
    from mtl_pipeline.losses.dwa import DynamicWeightAverage
    from mtl_pipeline.losses.equal import EqualWeighting
    from mtl_pipeline.losses.gradnorm import GradNorm
    from mtl_pipeline.losses.imtl import IMTLG
    from mtl_pipeline.losses.mgda import MGDA
    from mtl_pipeline.losses.nash_mtl import NashMTL
    from mtl_pipeline.losses.pcgrad import PCGrad
    from mtl_pipeline.losses.rlw import RandomLossWeighting
    from mtl_pipeline.losses.static import StaticWeighting
    from mtl_pipeline.losses.uncertainty import UncertaintyWeighting

    return [
        EqualWeighting,
        StaticWeighting,
        UncertaintyWeighting,
        DynamicWeightAverage,
        RandomLossWeighting,
        GradNorm,
        PCGrad,
        CAGrad,
        MGDA,
        IMTLG,
        NashMTL,
    ]


@hookimpl
def register_samplers() -> list[type]:
    from mtl_pipeline.samplers.annealed import AnnealedSampler
    from mtl_pipeline.samplers.capped import CappedSampler
    from mtl_pipeline.samplers.dynamic import DynamicSampler
    from mtl_pipeline.samplers.proportional import ProportionalSampler
    from mtl_pipeline.samplers.round_robin import RoundRobinSampler
    from mtl_pipeline.samplers.specified import SpecifiedSampler
    from mtl_pipeline.samplers.temperature import TemperatureSampler
    from mtl_pipeline.samplers.uniform import UniformSampler

    return [
        UniformSampler,
        ProportionalSampler,
        TemperatureSampler,
        CappedSampler,
        AnnealedSampler,
        RoundRobinSampler,
        SpecifiedSampler,
        DynamicSampler,
    ]


@hookimpl
def register_readers() -> list[type]:
    from mtl_pipeline.readers.conll_ner import ConllNerReader
    from mtl_pipeline.readers.conllu import ConlluReader
    from mtl_pipeline.readers.csv_reader import CsvReader
    from mtl_pipeline.readers.glue_tsv import GlueTsvReader
    from mtl_pipeline.readers.huggingface import HfDiskReader, HfHubReader
    from mtl_pipeline.readers.jsonl import JsonLinesReader
    from mtl_pipeline.readers.parquet import ParquetReader
    from mtl_pipeline.readers.squad_json import SquadJsonReader

    return [
        GlueTsvReader,
        CsvReader,
        JsonLinesReader,
        ParquetReader,
        ConlluReader,
        HfDiskReader,
        HfHubReader,
        SquadJsonReader,
        ConllNerReader,
    ]


@hookimpl
def register_metrics() -> list:
    from mtl_pipeline.metrics.builtin import BUILTIN_METRICS

    return list(BUILTIN_METRICS)


@hookimpl
def register_task_types() -> list[type]:
    from mtl_pipeline.task_types.classification import ClassificationTask
    from mtl_pipeline.task_types.dependency_parsing import DependencyParsingTask
    from mtl_pipeline.task_types.multi_label import MultiLabelTask
    from mtl_pipeline.task_types.multiple_choice import MultipleChoiceTask
    from mtl_pipeline.task_types.ner import NerTask
    from mtl_pipeline.task_types.regression import RegressionTask
    from mtl_pipeline.task_types.span_extraction import SpanExtractionTask
    from mtl_pipeline.task_types.tagging import TaggingTask

    return [
        ClassificationTask,
        RegressionTask,
        TaggingTask,
        MultiLabelTask,
        MultipleChoiceTask,
        SpanExtractionTask,
        NerTask,
        DependencyParsingTask,
    ]


@hookimpl
def register_encoder_adapters() -> list[type]:
    from mtl_pipeline.architectures.encoder_adapters import BUILTIN_ENCODER_ADAPTERS

    return list(BUILTIN_ENCODER_ADAPTERS)


@hookimpl
def register_strategies() -> list[type]:
    from mtl_pipeline.strategies.mtl_all import MtlAll
    from mtl_pipeline.strategies.mtl_then_finetune import MtlThenFinetune
    from mtl_pipeline.strategies.pairwise import Pairwise
    from mtl_pipeline.strategies.single_task import SingleTask
    from mtl_pipeline.strategies.stilts import Stilts

    return [MtlAll, SingleTask, Pairwise, Stilts, MtlThenFinetune]
