/* ctl_day.h: YYYY-MM-DD arguments of smshookctl's commands. */
#ifndef SMSHOOK_CTL_DAY_H
#define SMSHOOK_CTL_DAY_H

/* 1 if s is a real calendar day written YYYY-MM-DD, else 0. */
int	ctl_day_valid(const char *s);

#endif
