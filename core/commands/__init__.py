"""The command language: `/vizdots …` in Slack, the same words typed in Teams or the dev chat.

`parser` turns text into a Command value (pure); `service.run_command` carries it out.
"""
