import XCTest
@testable import ResumeHost
import ResumeCore

final class KeptHibernateKernelTests: XCTestCase {
    func testSystemMapSymbol() {
        let text = "ffffffff81000000 T _text\nffffffff819b8f30 B kexec_image\nffffffff819b8f38 B kexec_image_other\n"
        XCTAssertEqual(KeptHibernateKernel.systemMapSymbol("kexec_image", in: text), 0xffff_ffff_819b_8f30)
        XCTAssertNil(KeptHibernateKernel.systemMapSymbol("kexec_crash_image", in: text))
    }
}
