"""The plugin author's kit: family bases, adversarial objectives and losses, the image pool,
perceptual features, LR schedules and the figures a variant declares — everything a variant file builds on beside
`translate.variant` and `translate.nets`."""
