"""Example models and factories: the validated factories, AuthUserFactory, OptionalSubFactory, the recipes."""
