"""trajectories"""
