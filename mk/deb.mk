# mk/deb.mk: "make deb", the Debian package, built with Debian's tools.
#   make deb         $(DEB_DIR)/smshook_$(DEB_VERSION)_<arch>.deb
#   make deb-lint    lintian on it; any error or warning fails
#
# dpkg-buildpackage -us -uc -b runs in a copy of the tree,
# $(DEB_DIR)/smshook-$(VERSION), holding the files git knows (tracked, or
# new and not ignored): no build directory, nothing ignored, so the
# package never depends on what lies around in the working tree. The
# package's version is the Makefile's VERSION plus a Debian revision:
# debian/changelog's newest entry must be $(VERSION)-N. DEB_VERSION=V
# builds version V instead, with a changelog entry for it added to the
# copy only (tests/e2e/test_deb.py builds an older package that way).
# DEB_BUILD_OPTIONS passes through (e.g. nocheck).

DEB_DIR     = $(BUILD)/deb
DEB_VERSION ?=

.PHONY: deb deb-lint

deb:
	sh scripts/deb-build.sh $(DEB_DIR) $(VERSION) $(DEB_VERSION)

deb-lint: deb
	lintian --fail-on error,warning --display-level '>=warning' \
	    $$(cat $(DEB_DIR)/last-changes)
