"""The sections of the report page every design gets (``notebooks/design-page.ipynb``).

The notebook opens the page with :func:`open_page` and calls one section per cell, in this
order; a section that does not apply to the design (no second limb, no arms, fewer visits)
shows a sentence saying so or nothing at all. With one group and four visits this is the
program6wk page (``01``), with two arms and two visits the pfps3wk page (``02``), and with
any declared design that design's page: one copy of the logic.

========================  ================================================================
``flow``                  participants assessed and missed per visit (and arm)
``baseline``              baseline table; measures with instruments, ranges and MCIDs
``trajectories``          observed trajectories of every measure
``limbs``                 involved vs uninvolved limb (``primary.uninvolved``): LSI, model
``change``                change from baseline with effect sizes; strength's arm x visit
``primary``               baseline-adjusted MMRM of each outcome, arm differences
``sensitivity``           missingness patterns; MAR beside JR/CR/CIR, tipping point
``responders``            responders at the last visit by the instrument's MCID, unadjusted
                          and adjusted for baseline (Ye); a declared global rating of
                          change (``grc``: success, proportional odds)
``links``                 strength and each outcome: per visit, changes, within-person,
                          within/between model, cross-lagged
``mediation``             does strength carry the arm's effect? (causal mediation, sensitivity)
``next_trial``            the next trial's size, analytic and simulated
========================  ================================================================
"""

from hipstats.pages.change import change
from hipstats.pages.context import PageContext, open_page
from hipstats.pages.links import links
from hipstats.pages.mediation import mediation
from hipstats.pages.next_trial import next_trial
from hipstats.pages.overview import baseline, flow
from hipstats.pages.primary import primary
from hipstats.pages.responders import responders
from hipstats.pages.sensitivity import sensitivity
from hipstats.pages.trajectories import limbs, trajectories

__all__ = ["PageContext", "open_page", "flow", "baseline", "trajectories", "limbs", "change",
           "primary", "sensitivity", "responders", "links", "mediation", "next_trial"]
