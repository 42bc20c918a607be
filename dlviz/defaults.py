"""Defaults every part of dlviz reads from here, and only here: the pages, the runner and the CLI.

Plain constants with no imports, so the CLI can read them before torch is loaded.
"""

# The splits (see dlviz.data.split): the course's train_test_split(..., test_size=0.2, random_state=42).
VAL_FRACTION = 0.2  # the validation share of the training part, unless a run chooses another
TEST_FRACTION = 0.2  # a text dataset's held-out test share (stratified per class)
SPLIT_SEED = 42  # the seed of every split
