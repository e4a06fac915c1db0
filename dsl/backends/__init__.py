"""Back ends: each compiles the typed IR (fresco.dsl.ir) for one execution engine."""
