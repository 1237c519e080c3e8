<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ko_KR">
<context>
    <name>Chip</name>
    <message>
        <location filename="../widgets.py" line="100"/>
        <source>Open the picture</source>
        <translation>사진 열기</translation>
    </message>
    <message>
        <location filename="../widgets.py" line="141"/>
        <source>text read</source>
        <translation>글자 읽음</translation>
    </message>
    <message>
        <location filename="../widgets.py" line="143"/>
        <source>The text in this picture was read and given to the model with it</source>
        <translation>이 그림의 글자를 읽어 그림과 함께 모델에 전달했습니다</translation>
    </message>
</context>
<context>
    <name>Choices</name>
    <message>
        <location filename="../settings_dialog.py" line="27"/>
        <source>Fast</source>
        <translation>빠름</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="27"/>
        <source>Quality</source>
        <translation>품질</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="31"/>
        <source>not installed</source>
        <translation>설치되지 않음</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="39"/>
        <source>Voice: transcribe</source>
        <translation>음성: 받아쓰기</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="40"/>
        <source>Voice: native</source>
        <translation>음성: 네이티브</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="41"/>
        <source>Transcribe first (Whisper)</source>
        <translation>먼저 받아쓰기 (Whisper)</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="42"/>
        <source>Native (speech adapter)</source>
        <translation>네이티브 (음성 어댑터)</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <location filename="../composer.py" line="103"/>
        <location filename="../composer.py" line="187"/>
        <source>Attach</source>
        <translation>첨부</translation>
    </message>
    <message>
        <location filename="../composer.py" line="104"/>
        <source>Hold to talk (F8)</source>
        <translation>눌러서 말하기 (F8)</translation>
    </message>
    <message>
        <location filename="../composer.py" line="105"/>
        <source>Send</source>
        <translation>보내기</translation>
    </message>
    <message>
        <location filename="../composer.py" line="106"/>
        <source>Stop</source>
        <translation>중지</translation>
    </message>
    <message>
        <location filename="../composer.py" line="107"/>
        <source>Voice chat (F9)</source>
        <translation>음성 대화 (F9)</translation>
    </message>
    <message>
        <location filename="../composer.py" line="108"/>
        <source>Talk with the assistant hands-free: it listens, answers aloud and listens again; talk over it to interrupt. Press again to end.</source>
        <translation>손을 쓰지 않고 어시스턴트와 대화합니다. 듣고, 소리 내어 답하고, 다시 듣습니다. 말하는 도중에 끼어들면 멈춥니다. 다시 누르면 끝납니다.</translation>
    </message>
    <message>
        <location filename="../composer.py" line="114"/>
        <source>Ask anything. Enter sends, Shift+Enter adds a line. Paste or drop images, audio and documents.</source>
        <translation>무엇이든 물어보세요. Enter로 보내고 Shift+Enter로 줄을 바꿉니다. 이미지, 오디오, 문서를 붙여넣거나 끌어다 놓으세요.</translation>
    </message>
    <message>
        <location filename="../composer.py" line="116"/>
        <source>Summarize</source>
        <translation>요약</translation>
    </message>
    <message>
        <location filename="../composer.py" line="116"/>
        <source>Explain this code</source>
        <translation>코드 설명</translation>
    </message>
    <message>
        <location filename="../composer.py" line="117"/>
        <source>Describe this table</source>
        <translation>표 설명</translation>
    </message>
    <message>
        <location filename="../composer.py" line="117"/>
        <source>Extract the text</source>
        <translation>텍스트 추출</translation>
    </message>
    <message>
        <location filename="../composer.py" line="137"/>
        <source>Not a file: %1</source>
        <translation>파일이 아닙니다: %1</translation>
    </message>
    <message>
        <location filename="../composer.py" line="140"/>
        <source>%1 is larger than the %2 MB limit</source>
        <translation>%1 파일이 %2 MB 제한보다 큽니다</translation>
    </message>
    <message>
        <location filename="../composer.py" line="156"/>
        <source>text</source>
        <translation>텍스트</translation>
    </message>
    <message>
        <location filename="../composer.py" line="157"/>
        <source>%1 is not a %2 file; it will not be sent</source>
        <translation>%1은(는) %2 파일이 아니어서 보내지 않습니다</translation>
    </message>
    <message>
        <location filename="../composer.py" line="180"/>
        <source>Images</source>
        <translation>이미지</translation>
    </message>
    <message>
        <location filename="../composer.py" line="180"/>
        <source>Audio</source>
        <translation>오디오</translation>
    </message>
    <message>
        <location filename="../composer.py" line="180"/>
        <source>Documents</source>
        <translation>문서</translation>
    </message>
    <message>
        <location filename="../composer.py" line="181"/>
        <source>Everything the assistant reads</source>
        <translation>어시스턴트가 읽을 수 있는 모든 파일</translation>
    </message>
    <message>
        <location filename="../composer.py" line="181"/>
        <source>All files</source>
        <translation>모든 파일</translation>
    </message>
    <message>
        <location filename="../composer.py" line="215"/>
        <source>Add to the question if you like, then press Enter</source>
        <translation>질문을 덧붙이고 Enter를 누르세요</translation>
    </message>
    <message>
        <location filename="../composer.py" line="226"/>
        <source>Listening… release to send</source>
        <translation>듣는 중… 놓으면 보냅니다</translation>
    </message>
    <message>
        <location filename="../composer.py" line="237"/>
        <source>Nothing was recorded</source>
        <translation>녹음된 내용이 없습니다</translation>
    </message>
</context>
<context>
    <name>ConversationList</name>
    <message>
        <location filename="../conversations.py" line="54"/>
        <source>New conversation</source>
        <translation>새 대화</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="55"/>
        <source>Search conversations</source>
        <translation>대화 검색</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="61"/>
        <source>Today</source>
        <translation>오늘</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="61"/>
        <source>Yesterday</source>
        <translation>어제</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="61"/>
        <source>Previous 7 days</source>
        <translation>지난 7일</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="62"/>
        <source>Earlier</source>
        <translation>이전</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="96"/>
        <location filename="../conversations.py" line="104"/>
        <source>Rename</source>
        <translation>이름 바꾸기</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="97"/>
        <source>Export to Markdown</source>
        <translation>마크다운으로 내보내기</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="98"/>
        <location filename="../conversations.py" line="117"/>
        <source>Delete</source>
        <translation>삭제</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="104"/>
        <source>Title:</source>
        <translation>제목:</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="117"/>
        <source>Delete this conversation?</source>
        <translation>이 대화를 삭제할까요?</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="131"/>
        <source>Export</source>
        <translation>내보내기</translation>
    </message>
    <message>
        <location filename="../conversations.py" line="136"/>
        <source>Exported to %1</source>
        <translation>%1(으)로 내보냈습니다</translation>
    </message>
</context>
<context>
    <name>HandsFree</name>
    <message>
        <location filename="../hands_free.py" line="53"/>
        <source>Voice detection is not available: %1</source>
        <translation>음성 감지를 사용할 수 없습니다: %1</translation>
    </message>
</context>
<context>
    <name>ImageViewer</name>
    <message>
        <location filename="../widgets.py" line="170"/>
        <source>The picture could not be read.</source>
        <translation>사진을 읽을 수 없습니다.</translation>
    </message>
</context>
<context>
    <name>InstallDialog</name>
    <message>
        <location filename="../install_dialog.py" line="32"/>
        <source>Install a model</source>
        <translation>모델 설치</translation>
    </message>
    <message>
        <location filename="../install_dialog.py" line="47"/>
        <source>Install</source>
        <translation>설치</translation>
    </message>
    <message>
        <location filename="../install_dialog.py" line="54"/>
        <source>The model&apos;s packages come from the package index; this can take minutes.</source>
        <translation>모델 패키지를 패키지 색인에서 받습니다. 몇 분 걸릴 수 있습니다.</translation>
    </message>
    <message>
        <location filename="../install_dialog.py" line="56"/>
        <source>Every bundled model is installed.</source>
        <translation>제공되는 모든 모델이 설치되어 있습니다.</translation>
    </message>
    <message>
        <location filename="../install_dialog.py" line="96"/>
        <source>%1 is installed.</source>
        <translation>%1 설치를 마쳤습니다.</translation>
    </message>
    <message>
        <location filename="../install_dialog.py" line="98"/>
        <source>Could not install %1 (exit %2): see the lines below.</source>
        <translation>%1을(를) 설치하지 못했습니다(종료 코드 %2). 아래 내용을 보세요.</translation>
    </message>
    <message>
        <location filename="../install_dialog.py" line="105"/>
        <source>Could not start the installer: %1</source>
        <translation>설치 프로그램을 시작하지 못했습니다: %1</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../window.py" line="82"/>
        <source>The API could not start: %1</source>
        <translation>API를 시작할 수 없습니다: %1</translation>
    </message>
    <message>
        <location filename="../window.py" line="106"/>
        <source>Omni Assistant</source>
        <translation>옴니 어시스턴트</translation>
    </message>
    <message>
        <location filename="../window.py" line="172"/>
        <source>New conversation</source>
        <translation>새 대화</translation>
    </message>
    <message>
        <location filename="../window.py" line="109"/>
        <source>Template:</source>
        <translation>템플릿:</translation>
    </message>
    <message>
        <location filename="../window.py" line="110"/>
        <source>Export</source>
        <translation>내보내기</translation>
    </message>
    <message>
        <location filename="../window.py" line="111"/>
        <source>Settings</source>
        <translation>설정</translation>
    </message>
    <message>
        <location filename="../window.py" line="119"/>
        <source>Loading models in the background…</source>
        <translation>백그라운드에서 모델을 불러오는 중…</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="40"/>
        <source>The model that answers (loads in the background): %1</source>
        <translation>답하는 모델 (백그라운드에서 불러옵니다): %1</translation>
    </message>
    <message>
        <location filename="../window.py" line="163"/>
        <source>None</source>
        <translation>없음</translation>
    </message>
    <message>
        <location filename="../window.py" line="165"/>
        <source>zero-shot</source>
        <translation>제로샷</translation>
    </message>
    <message>
        <location filename="../window.py" line="165"/>
        <source>one-shot</source>
        <translation>원샷</translation>
    </message>
    <message>
        <location filename="../window.py" line="166"/>
        <source>few-shot</source>
        <translation>퓨샷</translation>
    </message>
    <message>
        <location filename="../window.py" line="205"/>
        <source>The models are still loading; your message is kept.</source>
        <translation>모델을 아직 불러오는 중입니다. 메시지는 그대로 남아 있습니다.</translation>
    </message>
    <message>
        <location filename="../window.py" line="113"/>
        <source>Image question</source>
        <translation>이미지 질문</translation>
    </message>
    <message>
        <location filename="../window.py" line="113"/>
        <source>Voice question</source>
        <translation>음성 질문</translation>
    </message>
    <message>
        <location filename="../window.py" line="114"/>
        <source>Document question</source>
        <translation>문서 질문</translation>
    </message>
    <message>
        <location filename="../window.py" line="114"/>
        <source>%1 (edited)</source>
        <translation>%1 (수정됨)</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="39"/>
        <source>Install a model…</source>
        <translation>모델 설치…</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="43"/>
        <source>How a spoken question reaches the model</source>
        <translation>말한 질문이 모델에 전달되는 방식</translation>
    </message>
    <message>
        <location filename="../window.py" line="132"/>
        <source>An answer is still being written: stop it (Esc) first</source>
        <translation>아직 답변을 작성하는 중입니다. 먼저 중지하세요(Esc)</translation>
    </message>
    <message>
        <location filename="../window_voice.py" line="32"/>
        <source>Could not read aloud: %1</source>
        <translation>소리 내어 읽을 수 없습니다: %1</translation>
    </message>
    <message>
        <location filename="../window_voice.py" line="44"/>
        <source>Reading aloud…</source>
        <translation>소리 내어 읽는 중…</translation>
    </message>
    <message>
        <location filename="../window_voice.py" line="78"/>
        <source>The models are still loading; start the voice chat when they are ready</source>
        <translation>모델을 아직 불러오는 중입니다. 준비되면 음성 대화를 시작하세요</translation>
    </message>
    <message>
        <location filename="../window.py" line="235"/>
        <source>Answering…</source>
        <translation>답변하는 중…</translation>
    </message>
    <message>
        <location filename="../window.py" line="291"/>
        <source>Editing the last question; send to replace it</source>
        <translation>마지막 질문을 편집 중입니다. 보내면 바뀝니다</translation>
    </message>
    <message>
        <location filename="../window.py" line="292"/>
        <source>Editing an earlier question; sending starts a copy of this conversation from there, and this one is kept</source>
        <translation>이전 질문을 수정하는 중입니다. 보내면 그 지점부터 이 대화의 사본이 시작되고, 이 대화는 그대로 남습니다</translation>
    </message>
    <message>
        <location filename="../window.py" line="317"/>
        <source>Could not answer: %1</source>
        <translation>답변할 수 없습니다: %1</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="68"/>
        <source>the language model</source>
        <translation>언어 모델</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="67"/>
        <source>the engine</source>
        <translation>엔진</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="69"/>
        <source>the speech model</source>
        <translation>음성 모델</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="70"/>
        <source>the vision model</source>
        <translation>비전 모델</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="80"/>
        <source>Loading %1 (step %2 of %3, %4%)</source>
        <translation>%1 불러오는 중 (%3단계 중 %2단계, %4%)</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="85"/>
        <source>First run: preparing %1 (once; this can take a few minutes)</source>
        <translation>처음 실행: %1 준비 중 (한 번만, 몇 분 걸릴 수 있습니다)</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="74"/>
        <location filename="../window_models.py" line="89"/>
        <source>Loading: %1</source>
        <translation>불러오는 중: %1</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="96"/>
        <source>Ready: %1 (loaded in %2 s)</source>
        <translation>준비됨: %1 (%2초 만에 불러옴)</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="99"/>
        <source>%1 interrupted answer(s) from the last session were kept</source>
        <translation>지난 세션에서 중단된 답변 %1개를 보존했습니다</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="108"/>
        <source>API serving at %1</source>
        <translation>API 제공 중: %1</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="109"/>
        <source>API stopped</source>
        <translation>API 중지됨</translation>
    </message>
    <message>
        <location filename="../window_models.py" line="113"/>
        <source>Could not load the models: %1</source>
        <translation>모델을 불러오지 못했습니다: %1</translation>
    </message>
</context>
<context>
    <name>MessageView</name>
    <message>
        <location filename="../messages.py" line="48"/>
        <source>Type a question, drop an image or a document, hold F8 and speak, or press F9 to talk hands-free.</source>
        <translation>질문을 입력하거나, 이미지나 문서를 끌어다 놓거나, F8을 누른 채 말하거나, F9를 눌러 손을 쓰지 않고 대화하세요.</translation>
    </message>
    <message>
        <location filename="../messages.py" line="89"/>
        <location filename="../messages.py" line="138"/>
        <source>Copy</source>
        <translation>복사</translation>
    </message>
    <message>
        <location filename="../messages.py" line="91"/>
        <location filename="../messages.py" line="137"/>
        <source>Copied</source>
        <translation>복사됨</translation>
    </message>
    <message>
        <location filename="../messages.py" line="95"/>
        <source>Read aloud</source>
        <translation>소리 내어 읽기</translation>
    </message>
    <message>
        <location filename="../messages.py" line="100"/>
        <source>Regenerate</source>
        <translation>다시 생성</translation>
    </message>
    <message>
        <location filename="../messages.py" line="103"/>
        <source>Edit</source>
        <translation>편집</translation>
    </message>
    <message>
        <location filename="../messages.py" line="106"/>
        <source>Continue</source>
        <translation>계속</translation>
    </message>
    <message>
        <location filename="../messages.py" line="113"/>
        <source>Previous version</source>
        <translation>이전 버전</translation>
    </message>
    <message>
        <location filename="../messages.py" line="114"/>
        <source>Next version</source>
        <translation>다음 버전</translation>
    </message>
    <message>
        <location filename="../messages.py" line="127"/>
        <source>Code copied</source>
        <translation>코드를 복사했습니다</translation>
    </message>
    <message>
        <location filename="../messages.py" line="139"/>
        <source>Answer copied to the clipboard</source>
        <translation>답변을 클립보드에 복사했습니다</translation>
    </message>
    <message>
        <location filename="../messages.py" line="168"/>
        <source>Heard: %1</source>
        <translation>들은 내용: %1</translation>
    </message>
    <message>
        <location filename="../messages.py" line="198"/>
        <source>You</source>
        <translation>나</translation>
    </message>
    <message>
        <location filename="../messages.py" line="198"/>
        <source>Assistant</source>
        <translation>어시스턴트</translation>
    </message>
    <message>
        <location filename="../messages.py" line="199"/>
        <source>interrupted</source>
        <translation>중단됨</translation>
    </message>
    <message>
        <location filename="../messages.py" line="199"/>
        <source>stopped</source>
        <translation>멈춤</translation>
    </message>
    <message>
        <location filename="../messages.py" line="199"/>
        <source>error</source>
        <translation>오류</translation>
    </message>
    <message>
        <location filename="../messages.py" line="207"/>
        <source>%1 · first token %2 ms · %3 tokens/s</source>
        <translation>%1 · 첫 토큰 %2 ms · 초당 %3 토큰</translation>
    </message>
    <message>
        <location filename="../messages.py" line="210"/>
        <source>cut at the length limit</source>
        <translation>길이 제한에서 잘림</translation>
    </message>
    <message>
        <location filename="../messages.py" line="212"/>
        <source>Sources: %1</source>
        <translation>출처: %1</translation>
    </message>
    <message>
        <location filename="../messages.py" line="214"/>
        <source>Could not be read, so left out: %1</source>
        <translation>읽을 수 없어 제외됨: %1</translation>
    </message>
</context>
<context>
    <name>MessageWidget</name>
    <message>
        <location filename="../widgets.py" line="251"/>
        <source>Copy</source>
        <translation>복사</translation>
    </message>
</context>
<context>
    <name>Recorder</name>
    <message>
        <location filename="../recorder.py" line="67"/>
        <source>No microphone was found. Connect one, or attach an audio file instead.</source>
        <translation>마이크를 찾을 수 없습니다. 마이크를 연결하거나 오디오 파일을 첨부하세요.</translation>
    </message>
    <message>
        <location filename="../recorder.py" line="83"/>
        <source>The microphone &apos;%1&apos; could not be opened (access denied or busy).</source>
        <translation>마이크 &apos;%1&apos;을(를) 열 수 없습니다 (권한이 없거나 사용 중).</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../settings_dialog.py" line="92"/>
        <source>Settings</source>
        <translation>설정</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="106"/>
        <source>A bundled model, a Hugging Face id or a local path</source>
        <translation>내장 모델, Hugging Face ID 또는 로컬 경로</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="107"/>
        <location filename="../settings_dialog.py" line="111"/>
        <source>Automatic</source>
        <translation>자동</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="109"/>
        <source>Full precision</source>
        <translation>전체 정밀도</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="109"/>
        <source>int8 (faster on CPU)</source>
        <translation>int8 (CPU에서 더 빠름)</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="113"/>
        <source>Automatic: llama.cpp for the bundled models on the CPU, PyTorch on a GPU</source>
        <translation>자동: CPU에서는 내장 모델에 llama.cpp, GPU에서는 PyTorch</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="114"/>
        <source>Language model</source>
        <translation>언어 모델</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="115"/>
        <source>Speech model</source>
        <translation>음성 모델</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="116"/>
        <source>Vision model</source>
        <translation>비전 모델</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="117"/>
        <source>Device</source>
        <translation>장치</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="118"/>
        <source>Runtime</source>
        <translation>실행 엔진</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="119"/>
        <source>Precision</source>
        <translation>정밀도</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="121"/>
        <source>empty: answer with the local models; or e.g. http://gpu-box:8000/v1</source>
        <translation>비우면 로컬 모델로 답합니다. 예: http://gpu-box:8000/v1</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="123"/>
        <source>empty: the first model the endpoint lists</source>
        <translation>비우면 엔드포인트의 첫 번째 모델</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="126"/>
        <source>Remote endpoint (OpenAI-compatible)</source>
        <translation>원격 엔드포인트 (OpenAI 호환)</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="127"/>
        <source>Remote model</source>
        <translation>원격 모델</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="128"/>
        <source>Remote API key</source>
        <translation>원격 API 키</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="129"/>
        <source>Models</source>
        <translation>모델</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="133"/>
        <source>Serve the local models as an OpenAI-compatible API on this computer</source>
        <translation>이 컴퓨터에서 로컬 모델을 OpenAI 호환 API로 제공</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="138"/>
        <source>optional on this computer (127.0.0.1)</source>
        <translation>이 컴퓨터(127.0.0.1)에서는 선택 사항</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="139"/>
        <source>API server</source>
        <translation>API 서버</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="140"/>
        <source>Port</source>
        <translation>포트</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="141"/>
        <source>API key</source>
        <translation>API 키</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="145"/>
        <source>API</source>
        <translation>API</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="151"/>
        <source>System default</source>
        <translation>시스템 기본값</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="153"/>
        <source>No microphone was found</source>
        <translation>마이크를 찾을 수 없습니다</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="154"/>
        <source>Read answers aloud as they are written</source>
        <translation>답변을 쓰는 대로 소리 내어 읽기</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="156"/>
        <source>Voice mode</source>
        <translation>음성 모드</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="157"/>
        <source>Microphone</source>
        <translation>마이크</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="158"/>
        <source>Read aloud</source>
        <translation>소리 내어 읽기</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="159"/>
        <source>Talking over a spoken answer stops it</source>
        <translation>말하는 중인 답변에 끼어들면 멈춤</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="160"/>
        <source>Needs headphones or echo cancellation: on loudspeakers the assistant may hear itself. Off: it does not listen while it speaks.</source>
        <translation>헤드폰이나 에코 제거가 필요합니다. 스피커에서는 어시스턴트가 자기 목소리를 들을 수 있습니다. 끄면 말하는 동안에는 듣지 않습니다.</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="163"/>
        <source>Voice chat</source>
        <translation>음성 대화</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="164"/>
        <source>Voice</source>
        <translation>음성</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="174"/>
        <source>Instructions the assistant follows in every conversation</source>
        <translation>모든 대화에서 어시스턴트가 따르는 지시</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="175"/>
        <source>Temperature</source>
        <translation>온도</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="176"/>
        <source>Max tokens</source>
        <translation>최대 토큰</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="177"/>
        <source>System prompt</source>
        <translation>시스템 프롬프트</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="178"/>
        <source>Generation</source>
        <translation>생성</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="186"/>
        <source>Add</source>
        <translation>추가</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="186"/>
        <source>Remove</source>
        <translation>제거</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="198"/>
        <source>Q: an example question
A: the answer you want</source>
        <translation>Q: 예시 질문
A: 원하는 답변</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="201"/>
        <source>Name</source>
        <translation>이름</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="202"/>
        <source>Instruction</source>
        <translation>지시</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="203"/>
        <source>Examples</source>
        <translation>예시</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="204"/>
        <source>None</source>
        <translation>없음</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="206"/>
        <source>New conversations use</source>
        <translation>새 대화에 사용</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="209"/>
        <source>Templates</source>
        <translation>템플릿</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="213"/>
        <source>Hide e-mail addresses, phone, card and ID numbers in answers</source>
        <translation>답변의 이메일 주소, 전화번호, 카드 번호, 주민등록번호 가리기</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="216"/>
        <source>Light</source>
        <translation>밝게</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="216"/>
        <source>Follow the system</source>
        <translation>시스템 설정 따르기</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="217"/>
        <source>Dark</source>
        <translation>어둡게</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="219"/>
        <source>System</source>
        <translation>시스템</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="223"/>
        <source>Personal data</source>
        <translation>개인정보</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="224"/>
        <source>Language</source>
        <translation>언어</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="225"/>
        <source>Theme</source>
        <translation>테마</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="226"/>
        <source>Text size</source>
        <translation>글자 크기</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="227"/>
        <source>Largest file (MB)</source>
        <translation>최대 파일 크기 (MB)</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="228"/>
        <source>Most PDF pages</source>
        <translation>최대 PDF 페이지 수</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="229"/>
        <source>General</source>
        <translation>일반</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="258"/>
        <source>New template</source>
        <translation>새 템플릿</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="273"/>
        <source>API keys are kept in the desktop keyring (%1).</source>
        <translation>API 키는 데스크톱 키링(%1)에 보관됩니다.</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="274"/>
        <source>No desktop keyring is running: API keys are kept in settings.json, which only you can read.</source>
        <translation>실행 중인 데스크톱 키링이 없습니다. API 키는 본인만 읽을 수 있는 settings.json에 보관됩니다.</translation>
    </message>
</context>
<context>
    <name>SpeechPlayer</name>
    <message>
        <location filename="../speech_player.py" line="94"/>
        <source>The sound output failed</source>
        <translation>소리 출력에 실패했습니다</translation>
    </message>
    <message>
        <location filename="../speech_player.py" line="151"/>
        <source>No sound output device</source>
        <translation>소리 출력 장치가 없습니다</translation>
    </message>
</context>
<context>
    <name>VoiceChat</name>
    <message>
        <location filename="../voice_chat.py" line="61"/>
        <source>Voice chat: listening… (talk; F9 ends it)</source>
        <translation>음성 대화: 듣는 중… (말씀하세요. F9로 끝냅니다)</translation>
    </message>
    <message>
        <location filename="../voice_chat.py" line="70"/>
        <source>Voice chat ended</source>
        <translation>음성 대화가 끝났습니다</translation>
    </message>
    <message>
        <location filename="../voice_chat.py" line="84"/>
        <source>Voice chat: listening…</source>
        <translation>음성 대화: 듣는 중…</translation>
    </message>
    <message>
        <location filename="../voice_chat.py" line="93"/>
        <source>Voice chat: speaking… (talk to interrupt)</source>
        <translation>음성 대화: 말하는 중… (말하면 멈춥니다)</translation>
    </message>
    <message>
        <location filename="../voice_chat.py" line="94"/>
        <source>Voice chat: speaking…</source>
        <translation>음성 대화: 말하는 중…</translation>
    </message>
    <message>
        <location filename="../voice_chat.py" line="120"/>
        <source>Voice chat: hearing you…</source>
        <translation>음성 대화: 듣고 있습니다…</translation>
    </message>
</context>
</TS>
