"""Reading finished runs: plots and IQM tables with bootstrap intervals."""
