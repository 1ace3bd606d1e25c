"""The records staff keep besides transitions: cases and their plans, attachments, deadlines and waivers, users."""
