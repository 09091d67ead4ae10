"""The public broadcast (庭审公开): a delayed, composed HLS livestream of a hearing.

``domain/broadcast.py`` decides who the public may see and hear; ``studio.py`` composes,
mixes, delays and encodes in one thread per broadcast hearing; ``office.py`` starts and
stops studios as the log says; ``server/api_public.py`` serves the result without login.
"""
