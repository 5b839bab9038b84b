"""Libraries written in the algorithm language: functions that build Vortex expressions and
definitions (no printer or lowering pass knows them). ``vortex.lib.fields``: prime fields for
STARK provers (BabyBear, Goldilocks)."""
