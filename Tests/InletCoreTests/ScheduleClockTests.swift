import Foundation
import InletCore
import Testing

@Suite("ScheduleClock")
struct ScheduleClockTests {
    @Test func manualClockMovesOnlyWhenTold() {
        let start = Date(timeIntervalSince1970: 1_740_823_200)  // 2025-03-01 10:00:00 UTC
        let clock = ManualClock(start)
        #expect(clock.now == start)
        #expect(clock.now == start)
        clock.advance(by: .seconds(90))
        #expect(clock.now == start.addingTimeInterval(90))
        clock.advance(by: .milliseconds(-500))
        #expect(clock.now == start.addingTimeInterval(89.5))
        clock.set(to: start)
        #expect(clock.now == start)
    }

    @Test func manualClockIsSharedAcrossTasks() async {
        let start = Date(timeIntervalSince1970: 1_740_823_200)
        let clock = ManualClock(start)
        let shared: any ScheduleClock = clock
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<100 {
                group.addTask { clock.advance(by: .seconds(1)) }
            }
        }
        #expect(shared.now == start.addingTimeInterval(100))
    }

    @Test func systemClockReadsTheWallClock() {
        let before = Date()
        let now = SystemScheduleClock().now
        #expect(before <= now && now <= Date())
    }
}
