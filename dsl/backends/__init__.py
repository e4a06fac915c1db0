"""Back ends: each compiles the typed IR (dsl.ir) for one execution engine."""
