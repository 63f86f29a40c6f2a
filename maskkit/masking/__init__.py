"""The masking engine: WHERE to mask (selectors), HOW to corrupt (corruption), kernels and word tables."""
