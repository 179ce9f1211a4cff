"""Entity spans over tag sequences: tagging schemes, well-formed decoding, span-level F1.

Kept free of torch and of the task-type machinery so that readers, metrics and the NER
head share one definition of what a span is (the CoNLL ``conlleval`` one).
"""
