"""The local runtime: the whole system on one machine, built from the synthesized templates."""
