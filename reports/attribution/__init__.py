"""Attribution and ROI: how a won deal's revenue is credited to the campaigns that touched its lead.

`credits` holds the six models as pure functions (no database); `selectors` reads the touches,
costs and funnel entries and builds the ROI rows the API and the page show.
"""
