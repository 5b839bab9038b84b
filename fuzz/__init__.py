"""Property-based fuzzing of the Vortex lowering: random pipelines × random valid schedules,
checked against ``pipe.reference`` on PoCL and compiled for CUDA and HIP. See ``__main__``."""
