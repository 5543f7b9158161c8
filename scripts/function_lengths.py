#!/usr/bin/env python3
"""Lists the C++ functions longer than a threshold, longest first.

Usage: scripts/function_lengths.py [LINES] [FOLDER ...]
  LINES    body lines above which a function is listed (default 80)
  FOLDER   folders to scan (default: arch mapping workloads proto sim)

Reads clang-formatted sources as text: a definition starts at a line in column 0 (namespaces
are not indented) and its body runs from the line ending in '{' to the next line starting with
'}'. Members defined inside a class body are not seen. Prints "LINES FILE:LINE SIGNATURE".
"""
import os
import re
import sys

SKIP = ('#', '//', '}', 'namespace', 'using', 'template', 'struct', 'class', 'enum', 'extern',
        'static_assert', 'typedef', '{')


def long_functions(root, threshold):
    found = []
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith(('.cc', '.h', '.cpp')):
                continue
            path = os.path.join(folder, name)
            with open(path, errors='replace') as f:
                lines = f.read().split('\n')
            i = 0
            while i < len(lines):
                line = lines[i]
                if line and not line[0].isspace() and not line.startswith(SKIP) and '(' in line:
                    j = i
                    while j < len(lines) and not lines[j].rstrip().endswith(('{', ';')):
                        j += 1
                    if j < len(lines) and lines[j].rstrip().endswith('{') and \
                            not lines[j].rstrip().endswith('= {'):
                        k = j + 1
                        while k < len(lines) and not lines[k].startswith('}'):
                            k += 1
                        body = k - j - 1
                        if body > threshold:
                            signature = re.sub(r'\s+', ' ', ' '.join(lines[i:j + 1]))[:100]
                            found.append((body, path, i + 1, signature))
                        i = k + 1
                        continue
                i += 1
    return found


def main():
    args = sys.argv[1:]
    threshold = int(args.pop(0)) if args and args[0].isdigit() else 80
    roots = args or ['arch', 'mapping', 'workloads', 'proto', 'sim']
    found = []
    for root in roots:
        found += long_functions(root, threshold)
    for body, path, line, signature in sorted(found, key=lambda f: (-f[0], f[1], f[2])):
        print(f'{body} {path}:{line} {signature}')


if __name__ == '__main__':
    main()
