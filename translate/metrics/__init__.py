"""Quality figures: image metrics (PSNR/SSIM-Y), generative metrics (Fréchet distance, coverage),
the small judging classifier of the demos, and the super-resolution evaluation protocol."""
