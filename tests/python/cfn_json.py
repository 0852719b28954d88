"""Prints a CloudFormation/SAM template as JSON, its short-form tags (!Ref, !Sub, ...) as the long form
({"Ref": ...}, {"Fn::Sub": ...}), read by cfn-lint's own decoder so the tests see what CloudFormation sees."""

import json
import sys

from cfnlint.decode import decode

template, problems = decode(sys.argv[1])
if problems or template is None:
    sys.exit(f"{sys.argv[1]} does not decode: {problems}")
json.dump(template, sys.stdout)
