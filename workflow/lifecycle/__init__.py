"""A case's life: the one state machine, the facts the rules look at, deciding and applying transitions, bulk runs."""
