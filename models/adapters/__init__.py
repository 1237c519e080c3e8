"""The adapters this project trains and ships: projectors, grounded image tokens, CTC spelling, their configs."""
