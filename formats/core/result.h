// Convenience include: Result<T>, Error, DK_TRY.
#pragma once
#include "formats/core/error.h"
