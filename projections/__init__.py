"""The read side: views, the projections that fill them, and the follower that feeds them."""
