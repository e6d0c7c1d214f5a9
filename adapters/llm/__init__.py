"""Language-model brains: openai_brain (the Brain port over the openai SDK) and prompts
(what it sends to the model and what it accepts back)."""
