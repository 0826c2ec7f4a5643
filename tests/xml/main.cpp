#define BOOST_TEST_MODULE starling_xml
#include <boost/test/unit_test.hpp>
